"""The baseline server for bench_api.py: FastAPI on uvicorn, one POST endpoint that reads the body and returns a
constant. (Its own module, without postponed annotations, so FastAPI sees the `Request` type.)"""

import sys

import uvicorn
from fastapi import FastAPI, Request

app = FastAPI()


@app.get("/healthz")
async def healthz() -> dict:
    return {"status": "ok"}


@app.post("/rulesets/{ruleset_id}/versions/{version}/evaluate")
async def constant(ruleset_id: str, version: str, request: Request) -> dict:
    await request.body()
    return {"status": "complete"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
