// Compile Solidity with solc-js and run it in an ethereumjs EVM with the Prague rules (EIP-2537 precompiles).
//
// A line-oriented JSON server for tests/evm/node_evm.py: one request object per stdin line, one
// response object per stdout line. State (deployed contracts, storage) persists between requests.
//   {"op": "compile", "sources": {"A.sol": "..."}}  -> {"contracts": {name: {bytecode, abi}}}
//   {"op": "deploy", "contract": name, "args": "0x..", "from": "0x.."} -> {"address", "gasUsed", "codeSize"}
//   {"op": "call", "to": "0x..", "data": "0x..", "from": "0x.."} -> {"success", "returnData", "gasUsed",
//        "error" (the custom error's name, decoded from the compiled ABIs), "exception", "logs"}
// A failed request answers {"fatal": message}; the server keeps running.
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const NPM = process.env.ZKMARGIN_NPM_DIR;
const load = (name) => import(require.resolve(name, { paths: [NPM] }));

const solc = (await load('solc')).default;
const { Hardfork, Mainnet, createCustomCommon } = await load('@ethereumjs/common');
const { createEVM } = await load('@ethereumjs/evm');
const { createAddressFromString, hexToBytes, bytesToHex } = await load('@ethereumjs/util');
const { keccak_256 } = await load('@noble/hashes/sha3.js');

// Mainnet's rules; ZKMARGIN_EVM_CHAIN_ID changes only the chain id (CHAINID), for cross-chain replay tests.
const chainId = Number(process.env.ZKMARGIN_EVM_CHAIN_ID ?? Mainnet.chainId);
const common = createCustomCommon({ chainId }, Mainnet, { hardfork: Hardfork.Prague });
const evm = await createEVM({ common });
const GAS_LIMIT = 30_000_000n;
const contracts = {};
const selectors = {}; // 4-byte selector or 32-byte topic -> name, for errors and events

function signature(item) {
  const type = (p) => (p.type.startsWith('tuple') ? `(${p.components.map(type).join(',')})${p.type.slice(5)}` : p.type);
  return `${item.name}(${item.inputs.map(type).join(',')})`;
}

function compile(sources) {
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(Object.entries(sources).map(([name, content]) => [name, { content }])),
    settings: {
      evmVersion: 'prague',
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object', 'evm.methodIdentifiers'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length) throw new Error(errors.map((e) => e.formattedMessage).join('\n'));
  const result = {};
  for (const file of Object.values(output.contracts ?? {})) {
    for (const [name, c] of Object.entries(file)) {
      contracts[name] = c;
      for (const item of c.abi) {
        if (item.type !== 'error' && item.type !== 'event') continue;
        const hash = bytesToHex(keccak_256(new TextEncoder().encode(signature(item))));
        selectors[item.type === 'error' ? hash.slice(0, 10) : hash] = item.name;
      }
      result[name] = {
        abi: c.abi,
        methodIdentifiers: c.evm.methodIdentifiers,
        deployedSize: c.evm.deployedBytecode.object.length / 2,
      };
    }
  }
  return { contracts: result, solcVersion: solc.version() };
}

function describe(exec) {
  const returnData = bytesToHex(exec.returnValue ?? new Uint8Array());
  return {
    success: exec.exceptionError === undefined,
    returnData,
    gasUsed: Number(exec.executionGasUsed),
    exception: exec.exceptionError?.error ?? null,
    error: exec.exceptionError ? selectors[returnData.slice(0, 10)] ?? null : null,
    logs: (exec.logs ?? []).map(([address, topics, data]) => ({
      address: bytesToHex(address),
      event: selectors[bytesToHex(topics[0] ?? new Uint8Array())] ?? null,
      topics: topics.map(bytesToHex),
      data: bytesToHex(data),
    })),
  };
}

// A fresh access list per request, warmed as a transaction's (EIP-2929: sender, recipient, precompiles),
// so storage reads are charged cold as in a real transaction (runCall alone keeps one warm set forever).
async function startTransaction(caller, to) {
  await evm.journal.cleanup();
  for (const address of [caller.toString(), to?.toString(), ...evm.precompiles.keys()]) {
    if (address) evm.journal.addAlwaysWarmAddress(address);
  }
}

async function handle(request) {
  const caller = createAddressFromString(request.from ?? '0x' + '11'.repeat(20));
  switch (request.op) {
    case 'compile':
      return compile(request.sources);
    case 'deploy': {
      const c = contracts[request.contract];
      if (!c) throw new Error(`contract ${request.contract} was not compiled`);
      const data = hexToBytes('0x' + c.evm.bytecode.object + (request.args ?? '0x').slice(2));
      await startTransaction(caller);
      const result = await evm.runCall({ caller, data, gasLimit: GAS_LIMIT });
      const out = describe(result.execResult);
      if (result.createdAddress) {
        out.address = result.createdAddress.toString();
        out.codeSize = (await evm.stateManager.getCode(result.createdAddress)).length;
      }
      return out;
    }
    case 'call': {
      const to = createAddressFromString(request.to);
      const gasLimit = request.gas === undefined ? GAS_LIMIT : BigInt(request.gas);
      await startTransaction(caller, to);
      const result = await evm.runCall({ caller, to, data: hexToBytes(request.data), gasLimit });
      return describe(result.execResult);
    }
    default:
      throw new Error(`unknown op ${request.op}`);
  }
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  let response;
  try {
    response = await handle(JSON.parse(line));
  } catch (e) {
    response = { fatal: String(e?.stack ?? e) };
  }
  process.stdout.write(JSON.stringify(response) + '\n');
}
