"""The service's API as an OpenAPI 3.1 document, served at ``/api/openapi.json``.

Written by hand beside the routes in ``app.py``; a test checks that both list the same paths and
methods, and that the document is valid OpenAPI 3.1.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from .. import __version__

_OBJECT = {"type": "object"}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(s): {"$ref": f"#/components/responses/E{s}"} for s in sorted(set(statuses))}


_COMMON = (401, 403)


def _op(summary: str, ok: dict[str, Any], *errors: int, body: dict[str, Any] | None = None,
        status: str = "200", op_id: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"summary": summary, "operationId": op_id,
                           "responses": {status: ok, **_errors(*_COMMON, *errors)}}
    if body is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return out


_ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}}]


def _schemas() -> dict[str, Any]:
    values = {"type": "object", "description": "Connection values by field name, as the connection form gives them."}
    return {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["status", "code", "message"],
            "properties": {
                "status": {"type": "integer"}, "code": {"type": "string"}, "message": {"type": "string"},
                "by_field": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
                             "description": "Messages by input field, to show under each field."},
                "upstream": {"type": "object", "description": "The data source server's own status, code and message.",
                             "properties": {"status": {"type": "integer"}, "code": {"type": ["string", "null"]},
                                            "message": {"type": ["string", "null"]}}},
                "details": _OBJECT}}}},
        "DataSourceType": {"type": "object", "required": ["id", "title", "connection", "operations"], "properties": {
            "id": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"},
            "docs_url": {"type": ["string", "null"]},
            "formats": {"type": "object",
                        "description": "Custom JSON Schema formats the forms use, with what each means."},
            "connection": _ref("Form"), "secret_fields": {"type": "array", "items": {"type": "string"}},
            "operations": {"type": "array", "items": _ref("OperationType")},
            "problems": {"type": "array", "items": {"type": "string"},
                         "description": "Extension files left out, and why."}}},
        "Form": {"type": "object", "required": ["schema", "uiSchema"],
                 "description": "A react-jsonschema-form form: a draft-07 JSON Schema and a uiSchema.",
                 "properties": {"schema": _OBJECT, "uiSchema": _OBJECT}},
        "OperationType": {"type": "object", "required": ["id", "title", "form"], "properties": {
            "id": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"},
            "aliases": {"type": "array", "items": {"type": "string"}}, "form": _ref("Form"),
            "result": {"type": "object", "description": "How to show the result: 'chart' names the time, "
                                                        "value and series columns."}}},
        "DataSourceInput": {"type": "object", "required": ["name", "type", "values"], "properties": {
            "name": {"type": "string", "minLength": 1}, "type": {"type": "string", "minLength": 1},
            "values": values}},
        "DataSourceUpdate": {"type": "object", "properties": {
            "name": {"type": "string", "minLength": 1},
            "values": {**values, "description": "A secret field left out or empty keeps its saved value."}}},
        "DataSource": {"type": "object", "required": ["id", "name", "type", "values", "secrets"], "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}, "type": {"type": "string"},
            "values": {**values, "description": "The plain values; secrets are never sent back."},
            "secrets": {"type": "object", "additionalProperties": {"const": "configured"},
                        "description": "The secret fields that have a value."},
            "detected": {"type": "object", "additionalProperties": {"type": "string"},
                         "description": "Connection fields Test connection found out from the server (a field "
                                        "set to be found out, such as an API set to auto), by name."},
            "revision": {"type": "integer"}, "created": {"type": "number"}, "updated": {"type": "number"}}},
        "SourceOperations": {
            "type": "object", "required": ["data_source", "detected", "undetermined", "operations"],
            "description": "The operations of a saved data source, each saying whether its server serves it. A host "
                           "lists the available ones.",
            "properties": {
                "data_source": {"type": "string"}, "revision": {"type": "integer"},
                "detected": {"type": "object", "additionalProperties": {"type": "string"},
                             "description": "What Test connection found out from the server, by field."},
                "undetermined": {"type": "array", "items": {"type": "string"},
                                 "description": "Connection fields still to be found out (test the connection); "
                                                "until then every operation is available and the server answers "
                                                "for itself."},
                "operations": {"type": "array", "items": {
                    "type": "object", "required": ["id", "title", "available", "reason", "needs"],
                    "properties": {
                        "id": {"type": "string"}, "title": {"type": "string"},
                        "available": {"type": "boolean",
                                      "description": "Whether this data source's server serves the operation."},
                        "reason": {"type": ["string", "null"],
                                   "description": "Why not: the message running it is refused with (a 422 on "
                                                  "its connection field)."},
                        "needs": {"type": "object", "additionalProperties": {"type": "array",
                                                                             "items": {"type": "string"}},
                                  "description": "Connection field -> the values it must have (from the "
                                                 "operation's YAML)."}}}}}},
        "TestReport": {"type": "object", "required": ["ok", "steps"], "properties": {
            "ok": {"type": "boolean"}, "steps": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string"}, "title": {"type": "string"},
                "status": {"enum": ["passed", "failed", "skipped", "not run"]}, "message": {"type": "string"},
                "http_status": {"type": ["integer", "null"]}, "elapsed_ms": {"type": ["number", "null"]}}}}}},
        "RunInput": {"type": "object", "required": ["data_source", "operation"], "properties": {
            "data_source": {"type": "string", "description": "The id of a saved data source."},
            "operation": {"type": "string", "description": "An operation id or alias."},
            "params": {"type": "object"},
            "progress": {"type": "boolean", "description": "Answer NDJSON: progress records of a batched write, "
                                                           "then the result (or the error)."}}},
        "StreamInput": {"allOf": [_ref("RunInput"), {"type": "object", "properties": {
            "limit": {"type": "integer", "minimum": 0, "description": "At most this many rows."}}}]},
        "Result": {"type": "object", "required": ["data", "status", "meta"], "properties": {
            "data": {"description": "What the operation gave: rows, an object, text, or bytes as a Binary (an "
                                    "object whose only key is $binary; no other data has that key).",
                     "anyOf": [_ref("Binary"), {"not": {"type": "object", "required": ["$binary"]}}]},
            "status": {"type": "integer"},
            "meta": {"type": "object", "description": "Facts about the call; 'truncated' is true when a limit "
                                                      "cut the answer; 'content_type' is the media type of an "
                                                      "answer given as bytes."}}},
        "Binary": {
            "type": "object", "required": ["$binary"], "additionalProperties": False,
            "description": "Bytes (such as a Parquet file) in JSON, whole. Ask /api/run with Accept: "
                           "application/octet-stream (or the answer's media type) for the bytes themselves.",
            "properties": {"$binary": {
                "type": "object", "required": ["base64", "size"], "additionalProperties": False, "properties": {
                    "base64": {"type": "string", "contentEncoding": "base64",
                               "description": "The bytes, standard base64 with padding (RFC 4648)."},
                    "size": {"type": "integer", "minimum": 0, "description": "How many bytes they are."},
                    "content_type": {"type": "string",
                                     "description": "Their media type as the server named it; left out when it "
                                                    "named none."}}}}},
        "Rendered": {"type": "object", "required": ["request", "curl"], "properties": {
            "request": {"type": "object", "description": "Method, URL, headers and body, credentials masked."},
            "curl": {"type": "string", "description": "The request as a curl command, credentials masked."}}},
        "QueryInput": {"type": "object", "required": ["name", "data_source", "operation"], "properties": {
            "name": {"type": "string", "minLength": 1}, "data_source": {"type": "string"},
            "operation": {"type": "string"}, "params": {"type": "object"}}},
        "Query": {"type": "object", "required": ["id", "name", "data_source", "operation", "params"], "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}, "data_source": {"type": "string"},
            "operation": {"type": "string"}, "params": {"type": "object"},
            "created": {"type": "number"}, "updated": {"type": "number"}}},
    }


def _responses() -> dict[str, Any]:
    words = {400: "The request is malformed", 401: "The access key is missing or wrong",
             403: "A foreign Host or Origin header", 404: "No such item", 409: "The name is taken",
             413: "The body is larger than the service takes", 415: "The body is not JSON",
             422: "Invalid input: messages by field, nothing was sent",
             502: "The data source's server failed, or answered with an error (its status, code and message "
                  "are in 'upstream')", 504: "The data source's server did not answer in time"}
    return {f"E{s}": _json(_ref("Error"), text) for s, text in words.items()}


_RUN_ERRORS = (400, 404, 413, 415, 422, 502, 504)


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    ndjson = {"description": "One JSON object a line: {\"row\": {...}} per row, then {\"end\": {\"rows\": N, "
                             "\"truncated\": bool}}, or {\"error\": {...}} when the data source failed midway.",
              "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}
    result_or_progress = {"description": "The result; with progress: true, NDJSON progress records and then "
                                         "{\"result\": ...} or {\"error\": ...}. An answer given as bytes is "
                                         "a Binary in the result; with an Accept header that names "
                                         "application/octet-stream or the answer's own media type (such as "
                                         "application/vnd.apache.parquet), it is the bytes themselves, with "
                                         "that media type, a Content-Disposition file name and the data "
                                         "source server's status in X-Result-Status. Any other answer is JSON "
                                         "whatever the Accept header says.",
                          "headers": {"X-Result-Status": {
                              "description": "With the bytes themselves: the data source server's HTTP status.",
                              "schema": {"type": "integer"}}},
                          "content": {"application/json": {"schema": _ref("Result")},
                                      "application/x-ndjson": {"schema": {"type": "string"}},
                                      "application/octet-stream": {"schema": {
                                          "type": "string", "contentMediaType": "application/octet-stream"}}}}
    no_content = {"description": "Deleted"}
    paths: dict[str, Any] = {
        "/api/openapi.json": {"get": _op("This document", _json(_OBJECT, "OpenAPI 3.1"), op_id="openapi")},
        "/api/data-source-types": {"get": _op(
            "The hosted data sources: connection form, operations (in their declared order) and their forms",
            _json({"type": "array", "items": _ref("DataSourceType")}, "Every hosted data source"),
            op_id="listDataSourceTypes")},
        "/api/data-source-types/{id}": {"parameters": _ID, "get": _op(
            "One hosted data source", _json(_ref("DataSourceType"), "The data source"), 404,
            op_id="getDataSourceType")},
        "/api/data-sources": {
            "get": _op("The saved data sources (secrets masked)",
                       _json({"type": "array", "items": _ref("DataSource")}, "Saved data sources"),
                       op_id="listDataSources"),
            "post": _op("Save a data source", _json(_ref("DataSource"), "Saved"), 400, 404, 409, 413, 415, 422,
                        body=_ref("DataSourceInput"), status="201", op_id="addDataSource")},
        "/api/data-sources/{id}": {
            "parameters": _ID,
            "get": _op("A saved data source (secrets masked)", _json(_ref("DataSource"), "The data source"), 404,
                       op_id="getDataSource"),
            "put": _op("Change a saved data source; a secret left out keeps its value",
                       _json(_ref("DataSource"), "Saved"), 400, 404, 409, 413, 415, 422,
                       body=_ref("DataSourceUpdate"), op_id="updateDataSource"),
            "delete": _op("Delete a saved data source and its queries", no_content, 404, status="204",
                          op_id="deleteDataSource")},
        "/api/data-sources/{id}/test": {"parameters": _ID, "post": _op(
            "Test the connection, step by step; what it finds out of the server (such as its API) is remembered",
            _json(_ref("TestReport"), "Each step with its status and message"),
            404, 422, op_id="testDataSource")},
        "/api/data-sources/{id}/operations": {"parameters": _ID, "get": _op(
            "The data source's operations in their declared order, each saying whether its server serves it, "
            "and why not", _json(_ref("SourceOperations"), "Its operations"), 404, 422,
            op_id="listDataSourceOperations")},
        "/api/run": {"post": _op("Run an operation on a saved data source", result_or_progress, *_RUN_ERRORS,
                                 body=_ref("RunInput"), op_id="run")},
        "/api/render": {"post": _op("The request an operation would send (nothing is sent)",
                                    _json(_ref("Rendered"), "The request, masked"), *_RUN_ERRORS,
                                    body=_ref("RunInput"), op_id="render")},
        "/api/stream": {"post": _op("Run an operation and stream its rows as NDJSON", ndjson, *_RUN_ERRORS,
                                    body=_ref("StreamInput"), op_id="stream")},
        "/api/queries": {
            "get": _op("The saved queries", _json({"type": "array", "items": _ref("Query")}, "Saved queries"),
                       op_id="listQueries"),
            "post": _op("Save a query", _json(_ref("Query"), "Saved"), 400, 404, 409, 413, 415, 422,
                        body=_ref("QueryInput"), status="201", op_id="addQuery")},
        "/api/queries/{id}": {
            "parameters": _ID,
            "get": _op("A saved query", _json(_ref("Query"), "The query"), 404, op_id="getQuery"),
            "put": _op("Change a saved query", _json(_ref("Query"), "Saved"), 400, 404, 409, 413, 415, 422,
                       body=_ref("QueryInput"), op_id="updateQuery"),
            "delete": _op("Delete a saved query", no_content, 404, status="204", op_id="deleteQuery")},
        "/api/queries/{id}/run": {"parameters": _ID, "post": _op(
            "Run a saved query", result_or_progress, *_RUN_ERRORS, op_id="runQuery")},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "influx-connector reference host", "version": __version__,
                 "description": "Configure data sources, run their operations and save queries. Every request "
                                "carries the access key printed at start (Authorization: Bearer <key>)."},
        "servers": [{"url": "/"}],
        "security": [{"accessKey": []}, {"accessCookie": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "accessKey": {"type": "http", "scheme": "bearer",
                              "description": "The access key printed when the service started."},
                "accessCookie": {"type": "apiKey", "in": "cookie", "name": "influx_connector_key"}},
            "schemas": _schemas(),
            "responses": _responses()},
    }
