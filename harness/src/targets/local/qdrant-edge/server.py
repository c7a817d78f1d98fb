"""Qdrant REST stand-in: the Qdrant Edge engine (PyPI qdrant-edge-py) behind a
small HTTP server that speaks the subset of Qdrant's REST API that the Soma
service and harness use.

It is a stand-in, not Qdrant. Each collection is one Edge shard on disk. The
routes, the `{result, status, time}` envelope, the status codes and the error
texts follow the Qdrant server (checked against its source at version 1.19.0).
Where a behaviour is this server's own choice rather than the engine's, a
comment states it.

Standard library only: the engine binding is the one dependency, and orjson is
used for JSON when it is importable because JSON parsing dominates upsert time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, unquote, urlsplit

import qdrant_edge as qe

try:  # optional speed-up, installed next to the engine by the local target
    import orjson

    def json_loads(data: bytes) -> Any:
        return orjson.loads(data)

    def json_dumps(value: Any) -> bytes:
        return orjson.dumps(value)

    JSON_LIBRARY = "orjson"
except ImportError:  # pragma: no cover - depends on the venv
    def json_loads(data: bytes) -> Any:
        return json.loads(data)

    def json_dumps(value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode()

    JSON_LIBRARY = "json"

LOG = logging.getLogger("qdrant-stand-in")

# Version of the Qdrant REST API this server imitates. @qdrant/js-client-rest
# warns when the server's minor version differs from its own by more than one.
QDRANT_API_VERSION = "1.19.0"
QDRANT_TITLE = "qdrant - vector search engine"
# Qdrant's default service.max_request_size_mb is 32.
MAX_REQUEST_BYTES = 32 * 1024 * 1024
DISTANCES = {
    "Cosine": qe.Distance.Cosine,
    "Euclid": qe.Distance.Euclid,
    "Dot": qe.Distance.Dot,
    "Manhattan": qe.Distance.Manhattan,
}
PAYLOAD_SCHEMA_TYPES = {
    "keyword": qe.PayloadSchemaType.Keyword,
    "integer": qe.PayloadSchemaType.Integer,
    "float": qe.PayloadSchemaType.Float,
    "geo": qe.PayloadSchemaType.Geo,
    "text": qe.PayloadSchemaType.Text,
    "bool": qe.PayloadSchemaType.Bool,
    "datetime": qe.PayloadSchemaType.Datetime,
    "uuid": qe.PayloadSchemaType.Uuid,
}
# Nested payload values (objects, and arrays that contain objects or arrays)
# are stored in the engine as one JSON text under PACKED_KEY and unpacked when
# read. The engine binding converts payload values key by key, about 5 us per
# key and value (qdrant-edge-py 0.9.0, measured on a 2-core machine). The
# service's points carry a nested payload object, so packing it roughly halves
# the conversion time of a point. Top-level scalars and arrays of scalars stay
# engine fields, so filters and payload indexes on them work as in Qdrant.
# Server's choice: a filter or index on a key inside a nested object, such
# as `payload.text`, is rejected with 400 naming this limitation, because the
# engine cannot see inside the JSON text. Qdrant itself supports such keys.
PACKED_KEY = "__soma_stand_in_nested_json__"
# Lower-case hyphenated UUIDs pass through without parsing (the common case).
CANONICAL_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# Qdrant 1.19 rejects these characters in collection names. The limit of 255
# characters is this server's choice, and Storage.directory_for maps every
# name within it to a directory name that fits the file system's limit.
COLLECTION_NAME = re.compile(r'^[^<>:"/\\|?*\x00\x1f]{1,255}$')
# Most Linux file systems (ext4, xfs, btrfs, tmpfs) limit a file name to 255 bytes.
MAX_DIRECTORY_NAME_BYTES = 255
# Marks a directory named by the SHA-256 digest of the collection name. The
# hex form has only the characters 0-9 and a-f, so it never starts with this.
DIGEST_DIRECTORY_PREFIX = "sha256-"


class ApiError(Exception):
    """An error that becomes a Qdrant error envelope with the given HTTP status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def bad_input(message: str) -> ApiError:
    return ApiError(400, f"Wrong input: {message}")


def format_error(message: str) -> ApiError:
    return ApiError(400, f"Format error in JSON body: {message}")


def not_found_collection(name: str) -> ApiError:
    return ApiError(404, f"Not found: Collection `{name}` doesn't exist!")


def storage_error(name: str, path: str, error: Exception) -> ApiError:
    """Return a 500 naming the collection, its directory and the cause, for a
    file system or engine failure that is no fault of the request."""
    cause = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return ApiError(500, f"Service internal error: cannot store collection `{name}` in directory {path}: {cause}")


# ---------------------------------------------------------------------------
# Request parsing: JSON values to engine objects
# ---------------------------------------------------------------------------

def parse_point_id(value: Any) -> int | str:
    """Return an engine point id, or raise Qdrant's error for anything that is
    neither an unsigned 64-bit integer nor a UUID."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**64:
        return value
    if isinstance(value, str):
        if CANONICAL_UUID.match(value):
            return value
        try:
            return str(uuid.UUID(value))
        except ValueError:
            pass
    raise format_error(
        f"value {json_text(value)} is not a valid point ID, "
        "valid values are either an unsigned integer or a UUID"
    )


def json_text(value: Any) -> str:
    # Qdrant prints strings without quotes and numbers as they are.
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def output_id(point_id: Any) -> int | str:
    return point_id if isinstance(point_id, int) else str(point_id)


def parse_vector(value: Any) -> list[float]:
    if isinstance(value, dict):
        # The unnamed vector may also be sent as {"": [...]}.
        if set(value) == {""}:
            value = value[""]
        else:
            raise bad_input("named vectors are not supported by the qdrant-edge stand-in")
    if not isinstance(value, list):
        raise format_error("vector must be an array of numbers")
    # The elements are checked by the engine binding, which raises TypeError;
    # checking 128 floats per point in Python would double the upsert time.
    return value


def check_top_level_key(key: Any, action: str = "filter on") -> str:
    """Return `key`, or raise 400 for a nested key that packing hides from the engine.

    `action` names what the request does with the key: "filter on" or "index".
    """
    if not isinstance(key, str) or not key:
        raise format_error("a payload key must be a non-empty string")
    if "." in key or "[" in key or key == PACKED_KEY:
        raise bad_input(
            f"the Qdrant Edge stand-in cannot {action} nested key {key}, because it stores nested "
            f"payload objects as JSON text; Qdrant itself supports nested keys, so use a top-level "
            f"payload key or a Qdrant server"
        )
    return key


# Qdrant's match values (ValueVariants in its REST schema) are keyword
# strings, signed 64-bit integers and booleans. Its `any` and `except` take a
# list of strings or a list of integers (AnyVariants).
I64_MIN, I64_MAX = -(2**63), 2**63 - 1


def is_i64(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and I64_MIN <= value <= I64_MAX


def check_match_value(value: Any) -> Any:
    """Return `value`, or raise 400 for a value that Qdrant's `match.value` does not accept."""
    if isinstance(value, (str, bool)) or is_i64(value):
        return value
    raise format_error(
        f"match value {json_text(value)} is not a keyword string, a 64-bit integer or a boolean"
    )


def check_match_list(name: str, values: Any) -> list[Any]:
    """Return `values`, or raise 400 unless it is a list of strings or a list of 64-bit integers."""
    if isinstance(values, list) and (
        all(isinstance(v, str) for v in values) or all(is_i64(v) for v in values)
    ):
        return values
    raise format_error(f"match {name} must be a list of keyword strings or a list of 64-bit integers")


def parse_match(match: dict[str, Any]) -> Any:
    if not isinstance(match, dict):
        raise format_error("match must be an object")
    if "value" in match:
        return qe.MatchValue(check_match_value(match["value"]))
    if "any" in match:
        return qe.MatchAny(check_match_list("any", match["any"]))
    if "except" in match:
        return qe.MatchExcept(check_match_list("except", match["except"]))
    if "text" in match:
        return qe.MatchText(match["text"])
    if "phrase" in match:
        return qe.MatchPhrase(match["phrase"])
    raise format_error(f"unsupported match condition {sorted(match)}")


def parse_range(rng: dict[str, Any]) -> Any:
    bounds = {k: rng.get(k) for k in ("gt", "gte", "lt", "lte") if rng.get(k) is not None}
    if any(isinstance(v, str) for v in bounds.values()):
        return qe.RangeDateTime(**bounds)
    return qe.RangeFloat(**bounds)


def parse_condition(cond: Any) -> Any:
    if not isinstance(cond, dict):
        raise format_error("a filter condition must be an object")
    if any(k in cond for k in ("must", "should", "must_not", "min_should")):
        return parse_filter(cond)
    if "has_id" in cond:
        return qe.HasIdCondition({parse_point_id(v) for v in cond["has_id"]})
    if "is_empty" in cond:
        return qe.IsEmptyCondition(check_top_level_key(cond["is_empty"]["key"]))
    if "is_null" in cond:
        return qe.IsNullCondition(check_top_level_key(cond["is_null"]["key"]))
    if "nested" in cond:
        check_top_level_key(f'{cond["nested"]["key"]}.')
    if "key" in cond:
        check_top_level_key(cond["key"])
        kwargs: dict[str, Any] = {}
        if cond.get("match") is not None:
            kwargs["match"] = parse_match(cond["match"])
        if cond.get("range") is not None:
            kwargs["range"] = parse_range(cond["range"])
        if cond.get("values_count") is not None:
            kwargs["values_count"] = qe.ValuesCount(**cond["values_count"])
        if cond.get("is_empty") is not None:
            kwargs["is_empty"] = cond["is_empty"]
        if cond.get("is_null") is not None:
            kwargs["is_null"] = cond["is_null"]
        if not kwargs:
            raise format_error(f"condition on `{cond['key']}` has no match, range or values_count")
        return qe.FieldCondition(cond["key"], **kwargs)
    raise format_error(f"unsupported filter condition {sorted(cond)}")


def condition_list(value: Any) -> list[Any] | None:
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    return [parse_condition(c) for c in items]


def parse_filter(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise format_error("filter must be an object")
    min_should = None
    if value.get("min_should") is not None:
        ms = value["min_should"]
        min_should = qe.MinShould(condition_list(ms["conditions"]) or [], ms["min_count"])
    return qe.Filter(
        must=condition_list(value.get("must")),
        should=condition_list(value.get("should")),
        must_not=condition_list(value.get("must_not")),
        min_should=min_should,
    )


class PayloadSelection:
    """Which payload keys a read returns: all, none, only `include` or all but `exclude`."""

    def __init__(self, enabled: bool, include: list[str] | None = None, exclude: list[str] | None = None):
        self.enabled = enabled
        self.include = include
        self.exclude = exclude

    def engine_selector(self) -> Any:
        """The engine's with_payload: an include list also fetches the packed nested values."""
        if not self.enabled:
            return False
        if self.include is not None:
            return [*self.include, PACKED_KEY]
        return True

    def apply(self, payload: dict[str, Any] | None) -> dict[str, Any]:
        unpacked = unpack_payload(payload)
        if self.include is not None:
            return {key: value for key, value in unpacked.items() if key in self.include}
        if self.exclude is not None:
            return {key: value for key, value in unpacked.items() if key not in self.exclude}
        return unpacked


def parse_with_payload(value: Any, default: bool) -> PayloadSelection:
    if value is None:
        return PayloadSelection(default)
    if isinstance(value, bool):
        return PayloadSelection(value)
    if isinstance(value, list):
        return PayloadSelection(True, include=[str(key) for key in value])
    if isinstance(value, dict) and "include" in value:
        return PayloadSelection(True, include=[str(key) for key in value["include"]])
    if isinstance(value, dict) and "exclude" in value:
        return PayloadSelection(True, exclude=[str(key) for key in value["exclude"]])
    raise format_error("with_payload must be a boolean, a list of keys or {include|exclude}")


def is_nested(value: Any) -> bool:
    if isinstance(value, dict):
        return True
    return isinstance(value, list) and any(isinstance(element, (dict, list)) for element in value)


def pack_payload(payload: Any) -> dict[str, Any] | None:
    """Return the engine payload: top-level values as they are, nested ones as one JSON text."""
    if not isinstance(payload, dict):
        return None
    if PACKED_KEY in payload:
        raise bad_input(f"payload key `{PACKED_KEY}` is reserved by the qdrant-edge stand-in")
    nested = {key: value for key, value in payload.items() if is_nested(value)}
    if not nested:
        return payload
    packed = {key: value for key, value in payload.items() if key not in nested}
    packed[PACKED_KEY] = json_dumps(nested).decode()
    return packed


def unpack_payload(payload: dict[str, Any] | None) -> dict[str, Any]:
    if not payload or PACKED_KEY not in payload:
        return payload or {}
    unpacked = {key: value for key, value in payload.items() if key != PACKED_KEY}
    unpacked.update(json_loads(payload[PACKED_KEY]))
    return unpacked


def parse_with_vector(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, list):
        return "" in value
    raise format_error("with_vector must be a boolean or a list of vector names")


def parse_limit(body: dict[str, Any], key: str, default: int) -> int:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise format_error(f"{key} must be a non-negative integer")
    return value


# ---------------------------------------------------------------------------
# Engine results to JSON
# ---------------------------------------------------------------------------

def record_json(record: Any, with_payload: PayloadSelection, with_vector: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"id": output_id(record.id)}
    if with_payload.enabled:
        out["payload"] = with_payload.apply(record.payload)
    if with_vector and record.vector is not None:
        out["vector"] = record.vector
    return out


def scored_json(point: Any, with_payload: PayloadSelection, with_vector: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"id": output_id(point.id), "version": point.version, "score": point.score}
    if with_payload.enabled:
        out["payload"] = with_payload.apply(point.payload)
    if with_vector and point.vector is not None:
        out["vector"] = point.vector
    return out


# ---------------------------------------------------------------------------
# Collections
# ---------------------------------------------------------------------------

class Collection:
    """One Qdrant collection backed by one Edge shard.

    Every engine call runs under `lock`. The binding documents no guarantee
    for concurrent calls on one shard, so the server serialises them. That is
    the server's choice, and it costs little because the GIL serialises most
    of the work anyway.
    """

    def __init__(self, name: str, path: str, meta: dict[str, Any], shard: Any):
        self.name = name
        self.path = path
        self.meta = meta
        self.shard = shard
        self.lock = threading.Lock()
        # Operation ids count per collection from server start; real Qdrant
        # keeps them across restarts. Server's choice.
        self.operation_id = 0

    def next_operation(self, wait: bool) -> dict[str, Any]:
        self.operation_id += 1
        # Updates are applied before the reply even when wait=false (server's
        # choice), and the status is still "acknowledged" as in Qdrant without wait.
        return {"operation_id": self.operation_id, "status": "completed" if wait else "acknowledged"}

    def save_meta(self) -> None:
        tmp = os.path.join(self.path, "collection.json.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(self.meta, fh)
        os.replace(tmp, os.path.join(self.path, "collection.json"))

    def info(self) -> dict[str, Any]:
        with self.lock:
            info = self.shard.info()
        vectors = self.meta["vectors"]
        return {
            "status": "green",
            "optimizer_status": "ok",
            # Like Qdrant, these counts are approximate; use points/count with
            # exact=true for an exact number.
            "indexed_vectors_count": info.indexed_vectors_count,
            "points_count": info.points_count,
            "segments_count": info.segments_count,
            "config": {
                "params": {
                    "vectors": {"size": vectors["size"], "distance": vectors["distance"]},
                    "shard_number": 1,
                    "replication_factor": 1,
                    "write_consistency_factor": 1,
                    "on_disk_payload": True,
                },
                "hnsw_config": {"m": 16, "ef_construct": 100, "full_scan_threshold": 10000,
                                "max_indexing_threads": 0, "on_disk": False},
                "optimizer_config": {"deleted_threshold": 0.2, "vacuum_min_vector_number": 1000,
                                     "default_segment_number": 0, "max_segment_size": None,
                                     "memmap_threshold": None, "indexing_threshold": 10000,
                                     "flush_interval_sec": 5, "max_optimization_threads": None},
                "wal_config": {"wal_capacity_mb": 32, "wal_segments_ahead": 0},
                "quantization_config": None,
            },
            "payload_schema": {
                field: {"data_type": data_type, "points": 0}
                for field, data_type in self.meta.get("payload_schema", {}).items()
            },
        }


class Storage:
    """All collections under one storage directory."""

    def __init__(self, root: str):
        self.root = os.path.join(root, "collections")
        os.makedirs(self.root, exist_ok=True)
        self.collections: dict[str, Collection] = {}
        self.lock = threading.Lock()
        self.load_all()

    def load_all(self) -> None:
        for entry in sorted(os.listdir(self.root)):
            path = os.path.join(self.root, entry)
            meta_path = os.path.join(path, "collection.json")
            if not os.path.isfile(meta_path):
                continue
            with open(meta_path, encoding="utf-8") as fh:
                meta = json.load(fh)
            shard = qe.EdgeShard.load(os.path.join(path, "shard"))
            self.collections[meta["name"]] = Collection(meta["name"], path, meta, shard)
            LOG.info("loaded collection %s", meta["name"])

    def directory_for(self, name: str) -> str:
        """Return the collection's directory: the hex of the UTF-8 name when
        that fits in one file name, else `sha256-` and the hex digest.

        Hex makes any valid collection name a safe path, and names that fit
        keep the directory they had before digests were introduced. The name
        itself is read from collection.json, so the collection list shows the
        original names in both forms.
        """
        encoded = name.encode()
        if 2 * len(encoded) <= MAX_DIRECTORY_NAME_BYTES:
            return os.path.join(self.root, encoded.hex())
        return os.path.join(self.root, DIGEST_DIRECTORY_PREFIX + hashlib.sha256(encoded).hexdigest())

    def get(self, name: str) -> Collection:
        collection = self.collections.get(name)
        if collection is None:
            raise not_found_collection(name)
        return collection

    def create(self, name: str, body: dict[str, Any]) -> bool:
        vectors = body.get("vectors")
        if not isinstance(vectors, dict) or "size" not in vectors:
            raise bad_input("the qdrant-edge stand-in needs one unnamed vector: {\"vectors\": {\"size\": N, \"distance\": \"Cosine\"}}")
        size, distance = vectors.get("size"), vectors.get("distance")
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ApiError(422, f"Validation error in JSON body: [vectors.size: value {size} invalid, must be 1 or larger]")
        if distance not in DISTANCES:
            raise format_error(f"unknown variant `{distance}`, expected one of `Cosine`, `Euclid`, `Dot`, `Manhattan`")
        with self.lock:
            if name in self.collections:
                raise ApiError(409, f"Wrong input: Collection `{name}` already exists!")
            path = self.directory_for(name)
            shutil.rmtree(path, ignore_errors=True)
            try:
                os.makedirs(path)
                config = qe.EdgeConfig(vectors=qe.EdgeVectorParams(size=size, distance=DISTANCES[distance]))
                shard = qe.EdgeShard.create(os.path.join(path, "shard"), config)
                meta = {"name": name, "vectors": {"size": size, "distance": distance}, "payload_schema": {}}
                collection = Collection(name, path, meta, shard)
                collection.save_meta()
            except Exception as error:
                LOG.exception("cannot create collection %s in %s", name, path)
                shutil.rmtree(path, ignore_errors=True)
                raise storage_error(name, path, error) from error
            self.collections[name] = collection
        LOG.info("created collection %s size=%d distance=%s", name, size, distance)
        return True

    def delete(self, name: str) -> bool:
        with self.lock:
            collection = self.collections.pop(name, None)
        if collection is None:
            return False
        with collection.lock:
            collection.shard.close()
        shutil.rmtree(collection.path, ignore_errors=True)
        LOG.info("deleted collection %s", name)
        return True

    def close(self) -> None:
        with self.lock:
            for collection in self.collections.values():
                with collection.lock:
                    collection.shard.flush()
                    collection.shard.close()
            self.collections.clear()


# ---------------------------------------------------------------------------
# Route handlers: each takes (storage, params, query, body) and returns the result
# ---------------------------------------------------------------------------

Handler = Callable[[Storage, dict[str, str], dict[str, list[str]], Any], Any]


def wait_flag(query: dict[str, list[str]]) -> bool:
    return query.get("wait", ["false"])[0] == "true"


def require_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise format_error("expected a JSON object")
    return body


def list_collections(storage: Storage, params, query, body) -> Any:
    return {"collections": [{"name": name} for name in sorted(storage.collections)]}


def get_collection(storage: Storage, params, query, body) -> Any:
    return storage.get(params["name"]).info()


def collection_exists(storage: Storage, params, query, body) -> Any:
    return {"exists": params["name"] in storage.collections}


def create_collection(storage: Storage, params, query, body) -> Any:
    return storage.create(params["name"], require_body(body))


def delete_collection(storage: Storage, params, query, body) -> Any:
    return storage.delete(params["name"])


def create_index(storage: Storage, params, query, body) -> Any:
    body = require_body(body)
    collection = storage.get(params["name"])
    field, schema = body.get("field_name"), body.get("field_schema")
    data_type = schema.get("type") if isinstance(schema, dict) else schema
    if not isinstance(field, str) or data_type not in PAYLOAD_SCHEMA_TYPES:
        raise format_error(f"field_schema must be one of {sorted(PAYLOAD_SCHEMA_TYPES)}")
    check_top_level_key(field, "index")
    with collection.lock:
        collection.shard.update(qe.UpdateOperation.create_field_index(field, PAYLOAD_SCHEMA_TYPES[data_type]))
        collection.meta.setdefault("payload_schema", {})[field] = data_type
        collection.save_meta()
        return collection.next_operation(wait_flag(query))


def delete_index(storage: Storage, params, query, body) -> Any:
    collection = storage.get(params["name"])
    with collection.lock:
        collection.shard.update(qe.UpdateOperation.delete_field_index(params["field"]))
        collection.meta.get("payload_schema", {}).pop(params["field"], None)
        collection.save_meta()
        return collection.next_operation(wait_flag(query))


def build_points(body: dict[str, Any]) -> list[Any]:
    if "batch" in body:
        batch = body["batch"]
        ids, vectors = batch.get("ids") or [], batch.get("vectors") or []
        payloads = batch.get("payloads") or [None] * len(ids)
        if not (len(ids) == len(vectors) == len(payloads)):
            raise bad_input("batch ids, vectors and payloads must have the same length")
        rows = zip(ids, vectors, payloads)
    elif isinstance(body.get("points"), list):
        rows = ((p.get("id"), p.get("vector"), p.get("payload")) for p in body["points"])
    else:
        raise format_error("expected `points` or `batch`")
    try:
        return [qe.Point(parse_point_id(i), parse_vector(v), pack_payload(p)) for i, v, p in rows]
    except TypeError as error:
        raise format_error(f"invalid vector or payload: {error}") from error


def upsert_points(storage: Storage, params, query, body) -> Any:
    collection = storage.get(params["name"])
    points = build_points(require_body(body))
    with collection.lock:
        collection.shard.update(qe.UpdateOperation.upsert_points(points))
        return collection.next_operation(wait_flag(query))


def delete_points(storage: Storage, params, query, body) -> Any:
    body = require_body(body)
    collection = storage.get(params["name"])
    if "points" in body:
        operation = qe.UpdateOperation.delete_points([parse_point_id(i) for i in body["points"]])
    elif "filter" in body:
        operation = qe.UpdateOperation.delete_points_by_filter(parse_filter(body["filter"]))
    else:
        raise format_error("expected `points` or `filter`")
    with collection.lock:
        collection.shard.update(operation)
        return collection.next_operation(wait_flag(query))


def retrieve_points(storage: Storage, params, query, body) -> Any:
    body = require_body(body)
    collection = storage.get(params["name"])
    ids = [parse_point_id(i) for i in body.get("ids", [])]
    with_payload = parse_with_payload(body.get("with_payload"), True)
    with_vector = parse_with_vector(body.get("with_vector"))
    with collection.lock:
        records = collection.shard.retrieve(ids, with_payload=with_payload.engine_selector(), with_vector=with_vector)
    return [record_json(r, with_payload, with_vector) for r in records]


def get_point(storage: Storage, params, query, body) -> Any:
    collection = storage.get(params["name"])
    raw = params["id"]
    point_id = parse_point_id(int(raw) if raw.isdigit() else raw)
    with collection.lock:
        records = collection.shard.retrieve([point_id], with_payload=True, with_vector=True)
    if not records:
        raise ApiError(404, f"Not found: No point with id {raw} found")
    return record_json(records[0], PayloadSelection(True), True)


def count_points(storage: Storage, params, query, body) -> Any:
    body = require_body(body or {})
    collection = storage.get(params["name"])
    exact = body.get("exact", True)
    request = qe.CountRequest(exact=bool(exact), filter=parse_filter(body.get("filter")))
    with collection.lock:
        return {"count": collection.shard.count(request)}


def scroll_points(storage: Storage, params, query, body) -> Any:
    body = require_body(body or {})
    collection = storage.get(params["name"])
    with_payload = parse_with_payload(body.get("with_payload"), True)
    with_vector = parse_with_vector(body.get("with_vector"))
    offset = body.get("offset")
    request = qe.ScrollRequest(
        offset=parse_point_id(offset) if offset is not None else None,
        limit=parse_limit(body, "limit", 10),
        filter=parse_filter(body.get("filter")),
        with_payload=with_payload.engine_selector(),
        with_vector=with_vector,
    )
    with collection.lock:
        records, next_offset = collection.shard.scroll(request)
    return {
        "points": [record_json(r, with_payload, with_vector) for r in records],
        "next_page_offset": output_id(next_offset) if next_offset is not None else None,
    }


def nearest_vector(collection: Collection, value: Any) -> list[float]:
    """Resolve a query to a vector: a vector, {"nearest": vector}, or a point id
    whose stored vector is used (as Qdrant's query API does for an id)."""
    if isinstance(value, dict) and "nearest" in value:
        value = value["nearest"]
    if isinstance(value, list):
        return parse_vector(value)
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        with collection.lock:
            records = collection.shard.retrieve([parse_point_id(value)], with_payload=False, with_vector=True)
        if not records:
            raise ApiError(404, f"Not found: No point with id {value} found")
        return records[0].vector
    raise bad_input("the qdrant-edge stand-in supports only nearest-vector queries")


def run_search(collection: Collection, body: dict[str, Any], vector: list[float]) -> list[dict[str, Any]]:
    with_payload = parse_with_payload(body.get("with_payload"), False)
    with_vector = parse_with_vector(body.get("with_vector"))
    request = qe.SearchRequest(
        query=qe.Query.Nearest(vector),
        limit=parse_limit(body, "limit", 10),
        offset=parse_limit(body, "offset", 0),
        filter=parse_filter(body.get("filter")),
        with_payload=with_payload.engine_selector(),
        with_vector=with_vector,
        score_threshold=body.get("score_threshold"),
    )
    with collection.lock:
        points = collection.shard.search(request)
    return [scored_json(p, with_payload, with_vector) for p in points]


def search_points(storage: Storage, params, query, body) -> Any:
    body = require_body(body)
    collection = storage.get(params["name"])
    return run_search(collection, body, nearest_vector(collection, body.get("vector")))


def query_points(storage: Storage, params, query, body) -> Any:
    body = require_body(body)
    collection = storage.get(params["name"])
    if body.get("query") is None:
        # Without a query the stand-in returns points in id order, like scroll (server's choice).
        scrolled = scroll_points(storage, params, query, {
            "filter": body.get("filter"), "limit": body.get("limit", 10),
            "with_payload": body.get("with_payload", False), "with_vector": body.get("with_vector"),
        })
        return {"points": [dict(p, version=0, score=1.0) for p in scrolled["points"]]}
    return {"points": run_search(collection, body, nearest_vector(collection, body["query"]))}


ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    (method, re.compile(f"^{pattern}$"), handler)
    for method, pattern, handler in [
        ("GET", r"/collections", list_collections),
        ("GET", r"/collections/(?P<name>[^/]+)", get_collection),
        ("GET", r"/collections/(?P<name>[^/]+)/exists", collection_exists),
        ("PUT", r"/collections/(?P<name>[^/]+)", create_collection),
        ("DELETE", r"/collections/(?P<name>[^/]+)", delete_collection),
        ("PUT", r"/collections/(?P<name>[^/]+)/index", create_index),
        ("DELETE", r"/collections/(?P<name>[^/]+)/index/(?P<field>[^/]+)", delete_index),
        ("PUT", r"/collections/(?P<name>[^/]+)/points", upsert_points),
        ("POST", r"/collections/(?P<name>[^/]+)/points", retrieve_points),
        ("GET", r"/collections/(?P<name>[^/]+)/points/(?P<id>[^/]+)", get_point),
        ("POST", r"/collections/(?P<name>[^/]+)/points/delete", delete_points),
        ("POST", r"/collections/(?P<name>[^/]+)/points/count", count_points),
        ("POST", r"/collections/(?P<name>[^/]+)/points/scroll", scroll_points),
        ("POST", r"/collections/(?P<name>[^/]+)/points/search", search_points),
        ("POST", r"/collections/(?P<name>[^/]+)/points/query", query_points),
    ]
]

PLAIN_ROUTES = {
    "/healthz": b"healthz check passed",
    "/livez": b"healthz check passed",
    "/readyz": b"all shards are ready",
}


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------

class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "qdrant-edge-stand-in"
    storage: Storage  # set on the class by serve()

    def setup(self) -> None:
        super().setup()
        # One write per response plus TCP_NODELAY avoids the 40 ms stall of
        # Nagle's algorithm meeting delayed ACKs on keep-alive connections.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        LOG.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_POST(self) -> None:
        self.dispatch("POST")

    def do_PUT(self) -> None:
        self.dispatch("PUT")

    def do_DELETE(self) -> None:
        self.dispatch("DELETE")

    def do_PATCH(self) -> None:
        self.dispatch("PATCH")

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self.read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            # Read the body anyway so the keep-alive connection stays usable.
            remaining = length
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                remaining -= len(chunk)
            raise ApiError(400, f"JSON payload ({length} bytes) is larger than allowed (limit: {MAX_REQUEST_BYTES} bytes).")
        return self.rfile.read(length) if length else b""

    def read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return b"".join(parts)
            total += size
            if total > MAX_REQUEST_BYTES:
                self.close_connection = True
                raise ApiError(400, f"JSON payload has exceeded limit ({MAX_REQUEST_BYTES} bytes).")
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def dispatch(self, method: str) -> None:
        started = time.perf_counter()
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        params: dict[str, str] = {}
        try:
            raw = self.read_body()
            if method == "GET" and path == "/":
                self.send_json(200, {"title": QDRANT_TITLE, "version": QDRANT_API_VERSION,
                                     "stand_in": f"soma qdrant-edge stand-in (qdrant-edge-py {engine_version()})"})
                return
            if method == "GET" and path in PLAIN_ROUTES:
                self.send_bytes(200, PLAIN_ROUTES[path], "text/plain; charset=utf-8")
                return
            handler, params = self.match_route(method, path)
            body = self.parse_body(raw)
            result = handler(self.storage, params, parse_qs(url.query), body)
            self.send_json(200, {"result": result, "status": "ok", "time": time.perf_counter() - started})
        except ApiError as error:
            self.send_json(error.status, {"status": {"error": error.message}, "time": time.perf_counter() - started})
        except Exception as error:  # engine and file system errors
            self.send_json(*engine_error(error, started, params.get("name")))

    def match_route(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        path_matched = False
        for route_method, pattern, handler in ROUTES:
            found = pattern.match(path)
            if not found:
                continue
            path_matched = True
            if route_method == method:
                params = {k: unquote(v) for k, v in found.groupdict().items()}
                name = params.get("name")
                if name is not None and not COLLECTION_NAME.match(name):
                    raise ApiError(422, f"Validation error in path parameters: [name: invalid collection name `{name}`]")
                return handler, params
        if path_matched:
            raise ApiError(405, f"Method {method} is not allowed on {path}")
        raise ApiError(404, f"Not found: {path} is not a route of the qdrant-edge stand-in")

    def parse_body(self, raw: bytes) -> Any:
        if not raw:
            return None
        try:
            return json_loads(raw)
        except ValueError as error:
            raise format_error(str(error)) from error

    def send_json(self, status: int, value: Any) -> None:
        self.send_bytes(status, json_dumps(value), "application/json")

    def send_bytes(self, status: int, body: bytes, content_type: str) -> None:
        reason = self.responses.get(status, ("",))[0]
        head = (
            f"HTTP/1.1 {status} {reason}\r\n"
            f"Content-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"{'Connection: close' + chr(13) + chr(10) if self.close_connection else ''}"
            "\r\n"
        ).encode("latin-1")
        self.wfile.write(head + body)
        self.log_request(status, len(body))


def engine_error(error: Exception, started: float, collection: str | None) -> tuple[int, dict[str, Any]]:
    """Map an exception of the engine or the file system to 400 (the engine
    rejected the input) or 500, naming the collection and the cause."""
    message = str(error)
    elapsed = time.perf_counter() - started
    if message.startswith("Vector dimension error") or "Wrong input" in message or isinstance(error, ValueError):
        text = message if message.startswith("Wrong input") else f"Wrong input: {message}"
        return 400, {"status": {"error": text}, "time": elapsed}
    LOG.exception("engine error on collection %s", collection)
    cause = f"{type(error).__name__}: {message}" if message else type(error).__name__
    where = "" if collection is None else f"collection `{collection}`: "
    return 500, {"status": {"error": f"Service internal error: {where}{cause}"}, "time": elapsed}


def engine_version() -> str:
    try:
        from importlib.metadata import version

        return version("qdrant-edge-py")
    except Exception:  # pragma: no cover - metadata missing
        return "unknown"


class Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops connections when a load generator opens many at once.
    request_queue_size = 128


def serve(host: str, port: int, storage_dir: str) -> None:
    # Request threads hand the GIL over every 0.5 ms instead of every 5 ms:
    # with the default a thread that finished its socket I/O waits behind one
    # that converts a batch, and upserts with four connections ran at about
    # 11,000 points/s instead of 13,000 (measured with measure-throughput.ts).
    sys.setswitchinterval(0.0005)
    storage = Storage(storage_dir)
    RequestHandler.storage = storage
    server = Server((host, port), RequestHandler)
    stopping = threading.Event()

    def stop(signum: int, _frame: Any) -> None:
        if stopping.is_set():
            return
        stopping.set()
        LOG.info("received %s, stopping", signal.Signals(signum).name)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    LOG.info(
        "qdrant-edge stand-in (qdrant-edge-py %s, REST API as Qdrant %s, json=%s) listening on http://%s:%d, storage %s",
        engine_version(), QDRANT_API_VERSION, JSON_LIBRARY, host, port, storage_dir,
    )
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        storage.close()
        LOG.info("stopped, collections flushed")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Qdrant REST stand-in on the Qdrant Edge engine")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, required=True, help="TCP port to listen on")
    parser.add_argument("--storage", required=True, help="directory for collections")
    parser.add_argument("--log-level", default="INFO", help="DEBUG logs every request")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s qdrant-stand-in: %(message)s",
        stream=sys.stderr,
    )
    serve(args.host, args.port, args.storage)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
