#!/usr/bin/env node
// A downstream app's check of a published triage ruleset, in plain Node (>= 18) and one RFC 8785 library.
//
//   node check.mjs --url http://127.0.0.1:8000 [--keyring keyring.json] RULESET_ID VERSION '{"age": 62}'
//       GET the release, check it, then POST the case to .../evaluate and print
//       {"sha256_ok": true, "signature_ok": true|null, "result": {...the API's answer...}}
//   node check.mjs --file RELEASE.json [--keyring keyring.json]
//       check a release file: prints {"sha256_ok": true|false, "signature_ok": true|false|null}
//
// The checks:
//   - sha256: the release's `sha256` is the SHA-256 of the RFC 8785 (JCS) canonical JSON of the document
//     without its four metadata keys: "sha256", "hash_version", "release" and "signature" (hash_version 2).
//   - signature (with --keyring; signature_ok is null without one): `signature.value` is an Ed25519 signature,
//     by a key in the keyring, of the RFC 8785 JSON of the whole document without "signature"; and the key is
//     the approver's (release.approver is the keyring entry's name).
//   - ETag (--url): the server's ETag is the quoted SHA-256 of the exact bytes it sent.
// Any failure: a message on stderr and exit code 1. Never use a release that fails a check.

import { createHash, createPublicKey, verify } from "node:crypto";
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import canonicalize from "canonicalize";

const METADATA = ["sha256", "hash_version", "release", "signature"];
const HASH_VERSION = 2; // RFC 8785; releases without hash_version were hashed another way and are refused here
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex"); // DER header of a raw Ed25519 key

class CheckFailed extends Error {}

const sha256Hex = (data) => createHash("sha256").update(data).digest("hex");
const without = (object, keys) => Object.fromEntries(Object.entries(object).filter(([key]) => !keys.includes(key)));

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

const normalName = (name) => String(name).trim().split(/\s+/).join(" ").toLowerCase();

/** The keyring file ({"keys": [{"name", "key_id", "public_key"}]}) as a Map from key_id to {name, key}. */
async function loadKeyring(path) {
  const keyring = new Map();
  for (const entry of JSON.parse(await readFile(path, "utf8")).keys) {
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

// --- the two modes ---------------------------------------------------------------------------------------------

async function checkFile(path, keyring) {
  const document = JSON.parse(await readFile(path, "utf8"));
  const problems = [hashProblem(document)];
  if (keyring) problems.push(signatureProblem(document, keyring));
  console.log(JSON.stringify({ sha256_ok: problems[0] === null, signature_ok: keyring ? problems[1] === null : null }));
  const failed = problems.filter((problem) => problem !== null);
  if (failed.length) throw new CheckFailed(`${path}: ${failed.join("; ")}`);
}

async function request(url, options = {}) {
  let response;
  try {
    response = await fetch(url, options);
  } catch (error) {
    throw new CheckFailed(`${options.method ?? "GET"} ${url}: ${error.cause?.message ?? error.message}`);
  }
  const body = Buffer.from(await response.arrayBuffer());
  if (!response.ok) {
    let detail = body.toString("utf8");
    try { // the API's errors are RFC 9457 problem documents; a 422 for answers lists them in `problems`
      const problem = JSON.parse(detail);
      detail = [problem.detail, ...(problem.problems ?? []).map((p) => `${p.input}: ${p.message}`)].join(" ");
    } catch {}
    throw new CheckFailed(`${options.method ?? "GET"} ${url}: HTTP ${response.status}: ${detail}`);
  }
  return { response, body };
}

async function checkServer(base, rulesetId, version, caseJson, keyring) {
  let inputs;
  try {
    inputs = JSON.parse(caseJson);
  } catch (error) {
    throw new CheckFailed(`the case is not JSON (${error.message}): give the answers as '{"age": 62}'`);
  }
  const url = `${base.replace(/\/+$/, "")}/rulesets/${encodeURIComponent(rulesetId)}/versions/` +
    encodeURIComponent(version);

  const { response, body } = await request(url);
  const etag = response.headers.get("etag");
  if (etag !== `"${sha256Hex(body)}"`) {
    throw new CheckFailed(`${url}: the ETag ${etag} is not the SHA-256 of the document sent: it was damaged on the way`);
  }
  const document = JSON.parse(body.toString("utf8"));
  const problems = [hashProblem(document), keyring ? signatureProblem(document, keyring) : null];
  const failed = problems.filter((problem) => problem !== null);
  if (failed.length) throw new CheckFailed(`refusing ${url}: ${failed.join("; ")}`);

  const answer = await request(`${url}/evaluate`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ inputs }),
  });
  const result = JSON.parse(answer.body.toString("utf8"));
  console.log(JSON.stringify({ sha256_ok: true, signature_ok: keyring ? true : null, result }));
}

const USAGE = `usage:
  node check.mjs --url BASE_URL [--keyring KEYRING.json] RULESET_ID VERSION 'CASE_JSON'
  node check.mjs --file RELEASE.json [--keyring KEYRING.json]`;

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { url: { type: "string" }, file: { type: "string" }, keyring: { type: "string" } },
  });
  const keyring = values.keyring ? await loadKeyring(values.keyring) : null;
  if (values.file !== undefined && values.url === undefined && positionals.length === 0) {
    await checkFile(values.file, keyring);
  } else if (values.url !== undefined && values.file === undefined && positionals.length === 3) {
    await checkServer(values.url, ...positionals, keyring);
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
