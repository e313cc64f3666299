/// @title Margin-proof verifier for one BLS12-381 verification key
/// @notice The key's public inputs are PER_PROOF_INPUTS values that change with every proof (commitment or
/// root, context), then SNAPSHOT_INPUTS values of a venue snapshot. The venue set at deployment registers
/// each snapshot once; its values are folded into one G1 point and stored, so a margin check multiplies
/// only the per-proof inputs. A snapshot id is never reused, so a verified proof keeps its meaning.
/// The venue is trusted to register values in the ranges the circuit assumes (only < r is checked here).
contract {{CONTRACT_NAME}} {
    uint256 public constant PER_PROOF_INPUTS = {{PER_PROOF_INPUTS}};
    uint256 public constant SNAPSHOT_INPUTS = {{SNAPSHOT_INPUTS}};
    /// The only address that may register snapshots.
    address public immutable venue;
{{VK_CONSTANTS}}
    /// [gamma_abc_i]_1 for i = 1 .. PER_PROOF_INPUTS, packed
    bytes internal constant PER_PROOF_POINTS = hex"{{PER_PROOF_POINTS}}";
    /// [gamma_abc_i]_1 for the snapshot inputs, packed
    bytes internal constant SNAPSHOT_POINTS = hex"{{SNAPSHOT_POINTS}}";

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

    event SnapshotRegistered(bytes32 indexed snapshotId, uint256[] values);
    event MarginProofVerified(bytes32 indexed snapshotId, address indexed submitter, uint256[] perProofInputs);

    error NotVenue(address caller);
    error VenueIsZero();
    error SnapshotAlreadyRegistered(bytes32 snapshotId);
    error SnapshotUnknown(bytes32 snapshotId);

    constructor(address venue_) {
        if (venue_ == address(0)) revert VenueIsZero();
        venue = venue_;
    }

    /// @notice Fold and store a snapshot's public values (key order); only the venue, once per id.
    function registerSnapshot(bytes32 snapshotId, uint256[] calldata values) external {
        if (msg.sender != venue) revert NotVenue(msg.sender);
        if (values.length != SNAPSHOT_INPUTS) revert PublicInputCountInvalid(values.length, SNAPSHOT_INPUTS);
        if (snapshots[snapshotId].head != 0) revert SnapshotAlreadyRegistered(snapshotId);
        bytes memory point =
            Bls12381Groth16.fold(GAMMA_ABC_0, SNAPSHOT_POINTS, values, PER_PROOF_INPUTS);
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

    /// @notice Whether the venue registered this snapshot id.
    function isRegistered(bytes32 snapshotId) external view returns (bool) {
        return snapshots[snapshotId].head != 0;
    }

    /// @notice True iff `proof` is valid for `perProofInputs` and the registered snapshot's values.
    function checkMargin(bytes32 snapshotId, uint256[] calldata perProofInputs, bytes calldata proof)
        public
        view
        returns (bool)
    {
        FoldedPoint storage stored = snapshots[snapshotId];
        uint256 head = stored.head;
        if (head == 0) revert SnapshotUnknown(snapshotId);
        if (perProofInputs.length != PER_PROOF_INPUTS) {
            revert PublicInputCountInvalid(perProofInputs.length, PER_PROOF_INPUTS);
        }
        Bls12381Groth16.checkProofEncoding(proof);
        bytes memory base = abi.encode((head >> 128) & (LOW_128 >> 1), stored.xLow, head & LOW_128, stored.yLow);
        bytes memory acc = Bls12381Groth16.fold(base, PER_PROOF_POINTS, perProofInputs, 0);
        return Bls12381Groth16.pairingCheck(proof, ALPHA_NEG_BETA, acc, NEG_GAMMA, NEG_DELTA);
    }

    /// @notice checkMargin, and a MarginProofVerified event when the proof is valid.
    function verifyMargin(bytes32 snapshotId, uint256[] calldata perProofInputs, bytes calldata proof)
        external
        returns (bool valid)
    {
        valid = checkMargin(snapshotId, perProofInputs, proof);
        if (valid) emit MarginProofVerified(snapshotId, msg.sender, perProofInputs);
    }
}
