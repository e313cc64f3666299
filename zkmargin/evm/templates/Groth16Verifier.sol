/// @title Groth16 verifier for one BLS12-381 verification key with {{PUBLIC_INPUTS}} public inputs
/// @notice verifyProof returns false for a wrong proof and reverts with a named error for malformed input.
contract {{CONTRACT_NAME}} {
    uint256 public constant PUBLIC_INPUTS = {{PUBLIC_INPUTS}};
{{VK_CONSTANTS}}
    /// [gamma_abc_i]_1 for i = 1 .. PUBLIC_INPUTS, packed
    bytes internal constant INPUT_POINTS = hex"{{INPUT_POINTS}}";

    /// @notice True iff `proof` (A || B || C, EIP-2537 encoding, 512 bytes) is valid for `publicInputs`.
    function verifyProof(bytes calldata proof, uint256[] calldata publicInputs) external view returns (bool) {
        if (publicInputs.length != PUBLIC_INPUTS) revert PublicInputCountInvalid(publicInputs.length, PUBLIC_INPUTS);
        Bls12381Groth16.checkProofEncoding(proof);
        bytes memory acc = Bls12381Groth16.fold(GAMMA_ABC_0, INPUT_POINTS, publicInputs, 0);
        return Bls12381Groth16.pairingCheck(proof, ALPHA_NEG_BETA, acc, NEG_GAMMA, NEG_DELTA);
    }
}
