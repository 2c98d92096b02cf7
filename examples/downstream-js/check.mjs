#!/usr/bin/env node
// A downstream app's use of a published triage ruleset, in plain Node (>= 18) and one RFC 8785 library: check the
// release, then evaluate the case HERE, on the release whose signature was checked. A server's /evaluate answer is
// never used: it is not signed, so a server (or anyone between) could turn an emergency into self-care.
//
//   node check.mjs --url BASE_URL --keyring keyring.json [--state trusted.json] [--at-least 2.0.0] \
//        RULESET_ID VERSION|latest '{"age": 62}'
//       GET the release, check it, evaluate the case locally and print
//       {"sha256_ok": true, "signature_ok": true, "release": {id, version, sha256}, "evaluated": "here",
//        "result": {...SPEC 5...}}
//   node check.mjs --file RELEASE.json --keyring keyring.json [--ruleset ID] [--version V] ['{"age": 62}']
//       check a release file: prints {"sha256_ok": true|false, "signature_ok": true|false} (and, with a case,
//       "release", "evaluated" and "result")
//
// The checks, each of which stops the app (a message on stderr, exit code 1):
//   - the JSON itself: an object with a repeated key is refused (one reader takes the first value, another the last);
//   - sha256: the release's `sha256` is the SHA-256 of the RFC 8785 (JCS) canonical JSON of the document without
//     its four metadata keys: "sha256", "hash_version", "release" and "signature" (hash_version 2);
//   - signature: `signature.value` is an Ed25519 signature, by a key in the keyring, of the RFC 8785 JSON of the
//     document (with `signature` but its value, for signature version 2; without `signature` before), and the key
//     is the approver's and the named signer's. Without a keyring nothing is trusted: --allow-unsigned checks the
//     sha256 only and says signature_ok: null (never for patients);
//   - what was asked for: the ruleset id, the version (or "latest" no lower than --at-least), and never below the
//     highest release trusted before (--state, a file shared with the workbench's Python runtime): a rollback;
//   - ETag (--url): the server's ETag is the quoted SHA-256 of the exact bytes it sent.
// There is no expiry: a server that keeps offering an old "latest" is caught by --at-least and --state only.

import { createHash, createPublicKey, verify } from "node:crypto";
import { readFile, rename, writeFile, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import canonicalize from "canonicalize";
import { evaluate, AnswerError } from "./evaluate.mjs";

const METADATA = ["sha256", "hash_version", "release", "signature"];
const HASH_VERSION = 2; // RFC 8785; releases without hash_version were hashed another way and are refused here
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex"); // DER header of a raw Ed25519 key
const CLIENT_SCOPE = "client"; // the scope the workbench's Python runtime keeps a client's releases under

class CheckFailed extends Error {}

const sha256Hex = (data) => createHash("sha256").update(data).digest("hex");
const without = (object, keys) => Object.fromEntries(Object.entries(object).filter(([key]) => !keys.includes(key)));

// --- JSON that says each thing once ------------------------------------------------------------------------------

const JSON_TOKEN = /\s*(?:([{}[\],:])|("(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*")|(-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)|(true|false|null))/y;

/** JSON.parse, except that an object with a repeated key is refused. */
export function strictParse(text) {
  JSON_TOKEN.lastIndex = 0;
  const next = () => {
    const at = JSON_TOKEN.lastIndex;
    const match = JSON_TOKEN.exec(text);
    if (!match) throw new CheckFailed(`not valid JSON at character ${at + 1}`);
    return match;
  };
  function value(token = next()) {
    if (token[1] === "{") {
      const object = {};
      let item = next();
      if (item[1] === "}") return object;
      for (;;) {
        if (item[2] === undefined) throw new CheckFailed("not valid JSON: an object key must be a string");
        const key = JSON.parse(item[2]);
        if (Object.prototype.hasOwnProperty.call(object, key)) {
          throw new CheckFailed(`the key ${JSON.stringify(key)} appears twice in one object, so readers could ` +
            "disagree on its value");
        }
        if (next()[1] !== ":") throw new CheckFailed("not valid JSON: ':' expected");
        Object.defineProperty(object, key, { value: value(), enumerable: true, writable: true, configurable: true });
        item = next();
        if (item[1] === "}") return object;
        if (item[1] !== ",") throw new CheckFailed("not valid JSON: ',' or '}' expected");
        item = next();
      }
    }
    if (token[1] === "[") {
      const array = [];
      let item = next();
      if (item[1] === "]") return array;
      for (;;) {
        array.push(value(item));
        item = next();
        if (item[1] === "]") return array;
        if (item[1] !== ",") throw new CheckFailed("not valid JSON: ',' or ']' expected");
        item = next();
      }
    }
    if (token[2] !== undefined) return JSON.parse(token[2]);
    if (token[3] !== undefined) return Number(token[3]);
    if (token[4] !== undefined) return JSON.parse(token[4]);
    throw new CheckFailed(`not valid JSON: unexpected ${JSON.stringify(token[0])}`);
  }
  const result = value();
  if (!/^\s*$/.test(text.slice(JSON_TOKEN.lastIndex))) throw new CheckFailed("not valid JSON: text after the end");
  return result;
}

// --- the sha256 of the ruleset ---------------------------------------------------------------------------------

/** The SHA-256 (hex) of the ruleset part of a release: what its `sha256` must be. */
function rulesetSha256(document) {
  return sha256Hex(canonicalize(without(document, METADATA)));
}

/** null when the document's sha256 is that of its content, or why not. */
function hashProblem(document) {
  if (document.hash_version !== HASH_VERSION) {
    return `hash_version is ${JSON.stringify(document.hash_version)}, not ${HASH_VERSION} (RFC 8785): this ` +
      "checker cannot check the sha256 of this release";
  }
  const computed = rulesetSha256(document);
  if (computed !== document.sha256) {
    return `the ruleset's content does not match its sha256: it was changed after release ` +
      `(computed ${computed}, the release says ${document.sha256})`;
  }
  return null;
}

// --- the signature ---------------------------------------------------------------------------------------------

const normalName = (name) => String(name).normalize("NFKC").trim().split(/\s+/).join(" ").toLowerCase();

/** The keyring file ({"keys": [{"name", "key_id", "public_key"}]}) as a Map from key_id to {name, key}. */
async function loadKeyring(path) {
  const keyring = new Map();
  for (const entry of strictParse(await readFile(path, "utf8")).keys) {
    const raw = Buffer.from(entry.public_key, "base64");
    // A key_id is "ed25519:" and the first 16 hex digits of the SHA-256 of the raw 32-byte public key.
    if (raw.length !== 32 || `ed25519:${sha256Hex(raw).slice(0, 16)}` !== entry.key_id) {
      throw new CheckFailed(`the keyring entry for ${JSON.stringify(entry.name)} does not match its key`);
    }
    const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: "der", type: "spki" });
    keyring.set(entry.key_id, { name: entry.name, key });
  }
  return keyring;
}

/** null when a key in the keyring, the approver's, signed this very document; or why not. */
function signatureProblem(document, keyring) {
  const signature = document.signature;
  if (typeof signature?.value !== "string") return "the release is not signed";
  if (signature.algorithm !== "Ed25519" || signature.canonicalization !== "RFC 8785") {
    return `the release is signed with ${signature.algorithm} over ${signature.canonicalization}, not Ed25519 ` +
      "over RFC 8785";
  }
  const trusted = keyring.get(signature.key_id);
  if (!trusted) return `the release is signed with key ${signature.key_id}, which the keyring does not hold`;
  // Signature version 2 covers the signature's own fields too (signer, key_id), all but its value.
  const covered = signature.version === 2
    ? { ...without(document, ["signature"]), signature: without(signature, ["value"]) }
    : without(document, ["signature"]);
  const signed = Buffer.from(canonicalize(covered), "utf8");
  if (!verify(null, signed, trusted.key, Buffer.from(signature.value, "base64"))) {
    return `the release does not match its signature: it was changed after ${trusted.name} signed it`;
  }
  if (normalName(signature.signer) !== normalName(trusted.name)) {
    return `the release names ${JSON.stringify(signature.signer)} as its signer but was signed with ${trusted.name}'s key`;
  }
  if (normalName(document.release?.approver) !== normalName(trusted.name)) {
    return `the release names ${JSON.stringify(document.release?.approver)} as its approver but was signed by ` +
      `${trusted.name}`;
  }
  return null;
}

// --- what was asked for, and never going back ---------------------------------------------------------------------

/** Semantic versions compared as semver.org says: 1.10.0 above 1.9.0, 1.0.0-rc.1 below 1.0.0. */
export function compareVersions(a, b) {
  const split = (v) => { const [core, pre] = String(v).split(/-(.*)/s); return [core.split(".").map(Number), pre]; };
  const [coreA, preA] = split(a), [coreB, preB] = split(b);
  for (let i = 0; i < 3; i++) if (coreA[i] !== coreB[i]) return coreA[i] < coreB[i] ? -1 : 1;
  if (preA === preB) return 0;
  if (preA === undefined) return 1;
  if (preB === undefined) return -1;
  const partsA = preA.split("."), partsB = preB.split(".");
  for (let i = 0; i < Math.max(partsA.length, partsB.length); i++) {
    if (partsA[i] === undefined) return -1;
    if (partsB[i] === undefined) return 1;
    const numA = /^\d+$/.test(partsA[i]), numB = /^\d+$/.test(partsB[i]);
    if (numA && numB && Number(partsA[i]) !== Number(partsB[i])) return Number(partsA[i]) < Number(partsB[i]) ? -1 : 1;
    if (numA !== numB) return numA ? -1 : 1;
    if (partsA[i] !== partsB[i]) return partsA[i] < partsB[i] ? -1 : 1;
  }
  return 0;
}

/** null when the document is the ruleset and version asked for, or why not. */
function pinProblem(document, { ruleset, version, atLeast }) {
  if (ruleset !== undefined && document.id !== ruleset) {
    return `this is a release of ${JSON.stringify(document.id)}, not of ${JSON.stringify(ruleset)}, which was asked for`;
  }
  if (version !== undefined && version !== "latest" && document.version !== version) {
    return `this is ${document.id} ${document.version}, but ${version} was asked for`;
  }
  if (atLeast !== undefined && compareVersions(document.version, atLeast) < 0) {
    return `this is ${document.id} ${document.version}, below ${atLeast}, the lowest version accepted`;
  }
  return null;
}

async function readState(path) {
  try {
    return strictParse(await readFile(path, "utf8"));
  } catch (error) {
    if (error.code === "ENOENT") return {};
    throw new CheckFailed(`the record of releases already trusted (${path}) cannot be read: ${error.message}`);
  }
}

/** null when the release is not below the highest trusted before (recorded in `path`), or why not. */
async function rollbackProblem(path, document, pinnedExactly) {
  const highest = (await readState(path)).rulesets?.[CLIENT_SCOPE]?.[document.id];
  if (!highest) return null;
  if (compareVersions(document.version, highest.version) < 0 && !pinnedExactly) {
    return `${document.id} ${document.version} is older than ${highest.version}, which was already trusted here: ` +
      "going back is refused (a rollback)";
  }
  if (document.version === highest.version && document.sha256 !== highest.sha256) {
    return `${document.id} ${document.version} was trusted here with other content: a released version never changes`;
  }
  return null;
}

async function remember(path, document) {
  const state = await readState(path);
  const scoped = ((state.rulesets ??= {})[CLIENT_SCOPE] ??= {});
  const highest = scoped[document.id];
  if (highest && compareVersions(highest.version, document.version) >= 0) return;
  scoped[document.id] = { version: document.version, sha256: document.sha256 };
  await mkdir(dirname(path), { recursive: true });
  await writeFile(`${path}.tmp`, JSON.stringify(state, null, 2) + "\n", { mode: 0o600 });
  await rename(`${path}.tmp`, path);
}

// --- the checks, in order, and the local evaluation ----------------------------------------------------------

async function checked(document, options, where) {
  const problems = [hashProblem(document)];
  if (options.keyring) problems.push(signatureProblem(document, options.keyring));
  const printed = { sha256_ok: problems[0] === null, signature_ok: options.keyring ? problems[1] === null : null };
  const failed = problems.filter((problem) => problem !== null);
  const pinned = pinProblem(document, options);
  if (pinned) failed.push(pinned);
  if (!failed.length && options.state) {
    const rollback = await rollbackProblem(options.state, document, options.version && options.version !== "latest");
    if (rollback) failed.push(rollback);
  }
  return { printed, failed: failed.map((problem) => `${where}: ${problem}`) };
}

function localResult(document, caseJson) {
  let answers;
  try {
    answers = strictParse(caseJson);
  } catch (error) {
    throw new CheckFailed(`the case is not JSON (${error.message}): give the answers as '{"age": 62}'`);
  }
  try {
    return evaluate(document, answers);
  } catch (error) {
    if (error instanceof AnswerError) throw new CheckFailed(`the case does not fit the ruleset: ${error.message}`);
    throw error;
  }
}

async function checkFile(path, caseJson, options) {
  const document = strictParse(await readFile(path, "utf8"));
  const { printed, failed } = await checked(document, options, path);
  if (failed.length) {
    console.log(JSON.stringify(printed));
    throw new CheckFailed(failed.join("; "));
  }
  if (caseJson === undefined) {
    console.log(JSON.stringify(printed));
    return;
  }
  const result = localResult(document, caseJson);
  if (options.state) await remember(options.state, document);
  console.log(JSON.stringify({ ...printed, release: stamp(document), evaluated: "here", result }));
}

const stamp = (document) => ({ id: document.id, version: document.version, sha256: document.sha256 });

async function request(url) {
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new CheckFailed(`GET ${url}: ${error.cause?.message ?? error.message}`);
  }
  const body = Buffer.from(await response.arrayBuffer());
  if (!response.ok) {
    let detail = body.toString("utf8");
    try { detail = JSON.parse(detail).detail ?? detail; } catch {} // the API's errors are RFC 9457 documents
    throw new CheckFailed(`GET ${url}: HTTP ${response.status}: ${detail}`);
  }
  return { response, body };
}

async function checkServer(base, rulesetId, version, caseJson, options) {
  const root = `${base.replace(/\/+$/, "")}/rulesets/${encodeURIComponent(rulesetId)}`;
  const url = version === "latest" ? root : `${root}/versions/${encodeURIComponent(version)}`;
  const { response, body } = await request(url);
  const etag = response.headers.get("etag");
  if (etag !== `"${sha256Hex(body)}"`) {
    throw new CheckFailed(`${url}: the ETag ${etag} is not the SHA-256 of the document sent: it was damaged on the way`);
  }
  const document = strictParse(body.toString("utf8"));
  const { printed, failed } = await checked(document, { ...options, ruleset: rulesetId, version }, `refusing ${url}`);
  if (failed.length) throw new CheckFailed(failed.join("; "));
  const result = localResult(document, caseJson); // here, on the verified release: never the server's /evaluate
  if (options.state) await remember(options.state, document);
  console.log(JSON.stringify({ ...printed, release: stamp(document), evaluated: "here", result }));
}

const USAGE = `usage:
  node check.mjs --url BASE_URL --keyring KEYRING.json [--state FILE] [--at-least V] RULESET_ID VERSION|latest 'CASE_JSON'
  node check.mjs --file RELEASE.json --keyring KEYRING.json [--ruleset ID] [--version V] [--state FILE] ['CASE_JSON']
  (--allow-unsigned instead of --keyring checks the sha256 only: never for patients)`;

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: "string" }, file: { type: "string" }, keyring: { type: "string" }, state: { type: "string" },
      "at-least": { type: "string" }, ruleset: { type: "string" }, version: { type: "string" },
      "allow-unsigned": { type: "boolean" },
    },
  });
  if (!values.keyring && !values["allow-unsigned"]) {
    throw new CheckFailed("no keyring: nothing can be trusted without one (give --keyring KEYRING.json)\n" + USAGE);
  }
  const options = {
    keyring: values.keyring ? await loadKeyring(values.keyring) : null, state: values.state,
    atLeast: values["at-least"], ruleset: values.ruleset, version: values.version,
  };
  if (values.file !== undefined && values.url === undefined && positionals.length <= 1) {
    await checkFile(values.file, positionals[0], options);
  } else if (values.url !== undefined && values.file === undefined && positionals.length === 3) {
    await checkServer(values.url, ...positionals, options);
  } else {
    throw new CheckFailed(USAGE);
  }
}

try {
  await main();
} catch (error) {
  console.error(`check.mjs: ${error instanceof CheckFailed ? "" : "error: "}${error.message}`);
  process.exit(1);
}
