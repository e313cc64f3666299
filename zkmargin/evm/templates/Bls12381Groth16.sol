/// The proof argument is not A || B || C in EIP-2537 encoding (512 bytes).
error ProofLengthInvalid(uint256 length);
/// A list of public inputs (or snapshot values) of the wrong length.
error PublicInputCountInvalid(uint256 count, uint256 expected);
/// Public input number `index` (in the key's order) is >= r, the BLS12-381 scalar field order.
error PublicInputNotInField(uint256 index);
/// A, B or C is the point at infinity, which no honest prover produces.
error ProofPointAtInfinity();
/// The pairing precompile refused a proof point: a coordinate >= p or with non-zero padding,
/// a point off the curve, or a point outside the prime-order subgroup.
error ProofPointInvalid();
/// A BLS12-381 precompile returned nothing: this chain has no EIP-2537 (Prague) precompiles.
error PrecompileUnavailable();

/// @notice Groth16 over BLS12-381 with the EIP-2537 precompiles: input folding (G1MSM, G1ADD) and one
/// PAIRING_CHECK of e(A, B) * e(alpha, -beta) * e(acc, -gamma) * e(C, -delta) == 1.
/// @dev Verification-key G1 points are kept packed (x || y, 48 bytes each) and padded to the
/// precompiles' 64-byte field elements here; the negated G2 points are precomputed off-chain.
library Bls12381Groth16 {
    /// The order of the BLS12-381 scalar field; every public input must be below it, or x and x + r
    /// would both verify.
    uint256 internal constant R = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001;
    uint256 internal constant PROOF_BYTES = 512;
    uint256 internal constant G1_BYTES = 128;
    uint256 internal constant PACKED_G1_BYTES = 96;
    uint256 internal constant MSM_PAIR_BYTES = 160;
    address internal constant G1ADD = address(0x0b);
    address internal constant G1MSM = address(0x0c);
    address internal constant PAIRING_CHECK = address(0x0f);

    /// @notice Refuse a proof argument of the wrong length or with a point at infinity.
    function checkProofEncoding(bytes calldata proof) internal pure {
        if (proof.length != PROOF_BYTES) revert ProofLengthInvalid(proof.length);
        if (_isZero(proof, 0, 128) || _isZero(proof, 128, 256) || _isZero(proof, 384, 128)) {
            revert ProofPointAtInfinity();
        }
    }

    /// @notice base + sum_i scalars[i] * points[i] for packed points; scalars[i] is public input
    /// number firstIndex + i, checked < r (G1MSM itself accepts any 32-byte scalar).
    function fold(bytes memory base, bytes memory packedPoints, uint256[] calldata scalars, uint256 firstIndex)
        internal
        view
        returns (bytes memory)
    {
        uint256 count = scalars.length;
        if (count == 0) return base;
        bytes memory msmInput = new bytes(count * MSM_PAIR_BYTES); // zeroed: the padding bytes stay 0
        for (uint256 i = 0; i < count; i++) {
            uint256 scalar = scalars[i];
            if (scalar >= R) revert PublicInputNotInField(firstIndex + i);
            assembly ("memory-safe") {
                let dst := add(add(msmInput, 32), mul(i, 160))
                let src := add(add(packedPoints, 32), mul(i, 96))
                mcopy(add(dst, 16), src, 48)
                mcopy(add(dst, 80), add(src, 48), 48)
                mstore(add(dst, 128), scalar)
            }
        }
        return _call(G1ADD, abi.encodePacked(base, _call(G1MSM, msmInput)));
    }

    /// @notice The Groth16 equation with one PAIRING_CHECK call; false for a wrong proof.
    /// @dev The precompile burns the gas it was given when it fails; it is given everything left,
    /// so the check stays correct under any repricing, and the 1/64 kept back pays for the revert.
    function pairingCheck(
        bytes calldata proof,
        bytes memory alphaNegBeta,
        bytes memory acc,
        bytes memory negGamma,
        bytes memory negDelta
    ) internal view returns (bool) {
        bytes memory input = abi.encodePacked(proof[0:384], alphaNegBeta, acc, negGamma, proof[384:512], negDelta);
        (bool ok, bytes memory out) = PAIRING_CHECK.staticcall(input);
        if (!ok) revert ProofPointInvalid();
        if (out.length != 32) revert PrecompileUnavailable();
        return abi.decode(out, (uint256)) == 1;
    }

    function _call(address precompile, bytes memory input) private view returns (bytes memory out) {
        bool ok;
        (ok, out) = precompile.staticcall(input);
        // Inputs here are the key's own points and checked scalars, so only a missing precompile fails.
        if (!ok || out.length != G1_BYTES) revert PrecompileUnavailable();
    }

    function _isZero(bytes calldata data, uint256 start, uint256 length) private pure returns (bool zero) {
        assembly ("memory-safe") {
            let acc := 0
            let from := add(data.offset, start)
            for { let i := 0 } lt(i, length) { i := add(i, 32) } { acc := or(acc, calldataload(add(from, i))) }
            zero := iszero(acc)
        }
    }
}
