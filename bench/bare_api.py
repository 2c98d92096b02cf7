"""The baseline server for bench_api.py: FastAPI on uvicorn, one POST endpoint that reads the JSON body and evaluates
it with the same compiled ruleset and the same checked `evaluate` the workbench serves, returning its SPEC 5 result;
and the same release document for GET. What any app offering this evaluation must do at least. (Its own module,
without postponed annotations, so FastAPI sees the `Request` type.)

    python bench/bare_api.py PORT RELEASE_JSON
"""

import json
import sys
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from workbench.content.model import Ruleset
from workbench.run.engine import CompiledRuleset, InputError, evaluate

document_bytes = Path(sys.argv[2]).read_bytes()
document = json.loads(document_bytes)
ruleset = CompiledRuleset(Ruleset.model_validate({k: v for k, v in document.items()
                                                  if k not in ("sha256", "hash_version", "release", "signature")}))
app = FastAPI()


@app.get("/healthz")
async def healthz() -> dict:
    return {"status": "ok"}


@app.get("/rulesets/{ruleset_id}/versions/{version}")
async def release(ruleset_id: str, version: str) -> Response:
    return Response(document_bytes, media_type="application/json")


@app.post("/rulesets/{ruleset_id}/versions/{version}/evaluate")
async def evaluate_case(ruleset_id: str, version: str, request: Request) -> Response:
    body = json.loads(await request.body())
    try:
        result = evaluate(ruleset, body["inputs"], unsure=body.get("unsure", ()))
    except InputError:
        return JSONResponse({"detail": "bad answers"}, status_code=422)
    return JSONResponse(result.to_dict())


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
