/// @title Margin-proof verifier for one BLS12-381 verification key
/// @notice The key's public inputs are PER_PROOF_INPUTS values that change with every proof, then
/// SNAPSHOT_INPUTS values of a venue snapshot. Named mode: (commitment, context); membership mode:
/// (root, context, scope, nullifier). The contract trusts one party, the venue set at deployment, and
/// nothing the submitter says:
///   * the snapshot's values: registered once per id by the venue, folded into one stored G1 point;
///   * the commitment (named) or root (membership): accepted only if the venue registered it for
///     that snapshot id (registerAttested, built from its signed attestation or root);
///   * the context: recomputed here from (chain id, this contract, beneficiary, epoch), so a proof
///     made for one beneficiary credits nobody else, whoever submits it;
///   * membership: the scope is recomputed from (chain id, this contract, epoch) and a nullifier
///     counts once per scope.
/// The venue is trusted to register values in the ranges the circuit assumes (only < r is checked here).
contract {{CONTRACT_NAME}} {
    uint256 public constant PER_PROOF_INPUTS = {{PER_PROOF_INPUTS}};
    uint256 public constant SNAPSHOT_INPUTS = {{SNAPSHOT_INPUTS}};
    /// True: membership mode (root, context, scope, nullifier); false: named mode (commitment, context).
    bool public constant MEMBERSHIP = {{MEMBERSHIP}};
    /// Domain tags of the two hashes, so a context never equals a scope (zkmargin.evm.context computes both).
    bytes32 internal constant CONTEXT_TAG = "zkmargin/evm-context/v1";
    bytes32 internal constant SCOPE_TAG = "zkmargin/evm-scope/v1";
    /// The only address that may register snapshots and attested commitments or roots.
    address public immutable venue;
{{VK_CONSTANTS}}
    /// [gamma_abc_i]_1 for i = 1 .. PER_PROOF_INPUTS, packed
    bytes internal constant PER_PROOF_POINTS = hex"{{PER_PROOF_POINTS}}";
    /// [gamma_abc_i]_1 for the snapshot inputs, packed: only in the deployment code, which stores them as
    /// the code of a data contract (`snapshotPoints`), so they do not count against this contract's
    /// 24 KiB (EIP-170) and a key may have up to 255 snapshot inputs.
    bytes internal constant SNAPSHOT_POINTS = hex"{{SNAPSHOT_POINTS}}";
    /// The data contract: a STOP byte, then SNAPSHOT_POINTS; created by the constructor, never changed.
    address public immutable snapshotPoints;

    /// A folded snapshot point in three words: the two high coordinate words are below 2^125
    /// (p < 2^381), so they share `head` with a registered flag in bit 255.
    struct FoldedPoint {
        uint256 head;
        uint256 xLow;
        uint256 yLow;
    }

    uint256 private constant REGISTERED = 1 << 255;
    uint256 private constant LOW_128 = (1 << 128) - 1;
    mapping(bytes32 => FoldedPoint) private snapshots;
    /// snapshot id => commitment (named) or root (membership) => registered by the venue
    mapping(bytes32 => mapping(uint256 => bool)) private attested;
    /// scope => nullifier => already counted (membership mode)
    mapping(uint256 => mapping(uint256 => bool)) private nullifiers;

    event SnapshotRegistered(bytes32 indexed snapshotId, uint256[] values);
    event AttestedRegistered(bytes32 indexed snapshotId, uint256[] values);
    event MarginProofVerified(
        bytes32 indexed snapshotId, address indexed beneficiary, uint64 indexed epoch, uint256[] perProofInputs
    );

    error NotVenue(address caller);
    error VenueIsZero();
    error SnapshotPointsNotStored();
    error BeneficiaryIsZero();
    error SnapshotAlreadyRegistered(bytes32 snapshotId);
    error SnapshotUnknown(bytes32 snapshotId);
    error AttestedValueNotInField(uint256 index);
    /// The commitment (named mode) or root (membership mode) was not registered by the venue for this snapshot.
    error NotAttested(bytes32 snapshotId, uint256 value);
    /// The proof's context is not the one this contract computes for (beneficiary, epoch).
    error ContextMismatch(uint256 expected, uint256 given);
    /// The proof's scope is not the one this contract computes for the epoch.
    error ScopeMismatch(uint256 expected, uint256 given);
    /// This nullifier was already counted in this scope: the same account proving again.
    error NullifierUsed(uint256 scope, uint256 nullifier);

    constructor(address venue_) {
        if (venue_ == address(0)) revert VenueIsZero();
        venue = venue_;
        // SSTORE2's creation code (return the code after these 11 bytes); the leading STOP makes the data
        // contract do nothing when called.
        bytes memory init = abi.encodePacked(hex"600b5981380380925939f3", hex"00", SNAPSHOT_POINTS);
        address points;
        assembly ("memory-safe") {
            points := create(0, add(init, 32), mload(init))
        }
        if (points == address(0)) revert SnapshotPointsNotStored();
        snapshotPoints = points;
    }

    /// @notice Fold and store a snapshot's public values (key order); only the venue, once per id.
    function registerSnapshot(bytes32 snapshotId, uint256[] calldata values) external {
        if (msg.sender != venue) revert NotVenue(msg.sender);
        if (values.length != SNAPSHOT_INPUTS) revert PublicInputCountInvalid(values.length, SNAPSHOT_INPUTS);
        if (snapshots[snapshotId].head != 0) revert SnapshotAlreadyRegistered(snapshotId);
        bytes memory packed = new bytes(SNAPSHOT_INPUTS * 96);
        address points = snapshotPoints;
        assembly ("memory-safe") {
            extcodecopy(points, add(packed, 32), 1, mload(packed))
        }
        bytes memory point = Bls12381Groth16.fold(GAMMA_ABC_0, packed, values, PER_PROOF_INPUTS);
        uint256 xHigh;
        uint256 xLow;
        uint256 yHigh;
        uint256 yLow;
        assembly ("memory-safe") {
            xHigh := mload(add(point, 32))
            xLow := mload(add(point, 64))
            yHigh := mload(add(point, 96))
            yLow := mload(add(point, 128))
        }
        snapshots[snapshotId] = FoldedPoint(REGISTERED | (xHigh << 128) | yHigh, xLow, yLow);
        emit SnapshotRegistered(snapshotId, values);
    }

    /// @notice Accept these commitments (named mode) or roots (membership mode) for a registered snapshot;
    /// only the venue, which registers only what it signed (`zkmargin export register --attestation/--signed-root`).
    function registerAttested(bytes32 snapshotId, uint256[] calldata values) external {
        if (msg.sender != venue) revert NotVenue(msg.sender);
        if (snapshots[snapshotId].head == 0) revert SnapshotUnknown(snapshotId);
        mapping(uint256 => bool) storage accepted = attested[snapshotId];
        for (uint256 i = 0; i < values.length; i++) {
            if (values[i] >= Bls12381Groth16.R) revert AttestedValueNotInField(i);
            accepted[values[i]] = true;
        }
        emit AttestedRegistered(snapshotId, values);
    }

    /// @notice Whether the venue registered this snapshot id.
    function isRegistered(bytes32 snapshotId) external view returns (bool) {
        return snapshots[snapshotId].head != 0;
    }

    /// @notice Whether the venue registered this commitment or root for the snapshot.
    function isAttested(bytes32 snapshotId, uint256 value) external view returns (bool) {
        return attested[snapshotId][value];
    }

    /// @notice Whether this nullifier was already counted in this scope.
    function isNullifierUsed(uint256 scope, uint256 nullifier) external view returns (bool) {
        return nullifiers[scope][nullifier];
    }

    /// @notice The context a proof for `beneficiary` at `epoch` must carry here:
    /// sha256(CONTEXT_TAG, chain id, this contract, beneficiary, epoch) mod r, each a 32-byte word.
    function contextFor(address beneficiary, uint64 epoch) public view returns (uint256) {
        return uint256(sha256(abi.encode(CONTEXT_TAG, block.chainid, address(this), beneficiary, epoch)))
            % Bls12381Groth16.R;
    }

    /// @notice The scope of membership proofs at `epoch` here: sha256(SCOPE_TAG, chain id, this contract, epoch) mod r.
    function scopeFor(uint64 epoch) public view returns (uint256) {
        return uint256(sha256(abi.encode(SCOPE_TAG, block.chainid, address(this), epoch))) % Bls12381Groth16.R;
    }

    /// @notice True iff `proof` is valid for `perProofInputs` and the registered snapshot's values, where
    /// perProofInputs are the key's first PER_PROOF_INPUTS public inputs as the prover's public.json lists them.
    /// Reverts when the snapshot, the commitment or root, the context, the scope or the nullifier is refused.
    function checkMargin(
        bytes32 snapshotId,
        address beneficiary,
        uint64 epoch,
        uint256[] calldata perProofInputs,
        bytes calldata proof
    ) public view returns (bool) {
        FoldedPoint storage stored = snapshots[snapshotId];
        uint256 head = stored.head;
        if (head == 0) revert SnapshotUnknown(snapshotId);
        if (perProofInputs.length != PER_PROOF_INPUTS) {
            revert PublicInputCountInvalid(perProofInputs.length, PER_PROOF_INPUTS);
        }
        if (beneficiary == address(0)) revert BeneficiaryIsZero();
        if (!attested[snapshotId][perProofInputs[0]]) revert NotAttested(snapshotId, perProofInputs[0]);
        uint256 context = contextFor(beneficiary, epoch);
        if (perProofInputs[1] != context) revert ContextMismatch(context, perProofInputs[1]);
        if (MEMBERSHIP) {
            uint256 scope = scopeFor(epoch);
            if (perProofInputs[2] != scope) revert ScopeMismatch(scope, perProofInputs[2]);
            if (nullifiers[scope][perProofInputs[3]]) revert NullifierUsed(scope, perProofInputs[3]);
        }
        Bls12381Groth16.checkProofEncoding(proof);
        bytes memory base = abi.encode((head >> 128) & (LOW_128 >> 1), stored.xLow, head & LOW_128, stored.yLow);
        bytes memory acc = Bls12381Groth16.fold(base, PER_PROOF_POINTS, perProofInputs, 0);
        return Bls12381Groth16.pairingCheck(proof, ALPHA_NEG_BETA, acc, NEG_GAMMA, NEG_DELTA);
    }

    /// @notice checkMargin; when the proof is valid, count its nullifier (membership mode) and emit
    /// MarginProofVerified naming the beneficiary the proof was made for (never the submitter).
    function verifyMargin(
        bytes32 snapshotId,
        address beneficiary,
        uint64 epoch,
        uint256[] calldata perProofInputs,
        bytes calldata proof
    ) external returns (bool valid) {
        valid = checkMargin(snapshotId, beneficiary, epoch, perProofInputs, proof);
        if (!valid) return false;
        // checkMargin checked perProofInputs[2] is this epoch's scope.
        if (MEMBERSHIP) nullifiers[perProofInputs[2]][perProofInputs[3]] = true;
        emit MarginProofVerified(snapshotId, beneficiary, epoch, perProofInputs);
    }
}
