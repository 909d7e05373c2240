"""Prometheus remote-write 1.0 protobuf messages, built at runtime (no protoc, no _pb2).

Two sets of classes come from the same wire format:

* the faithful messages of ``prometheus/prompb`` (``types.proto`` + ``remote.proto``):
  ``WriteRequest``, ``TimeSeries``, ``Label``, ``Sample``, ``Exemplar``, ``Histogram``,
  ``BucketSpan``, ``MetricMetadata``; used by senders (tests, benchmarks) and by the
  slow decoding path;
* "raw views" that declare the nested messages as ``bytes``, so the upb parser hands
  back the undecoded bytes of each series and label. The receiver decodes those itself,
  caching label sets by their wire bytes; this keeps Python work per series tiny.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_OPT = _F.LABEL_OPTIONAL
_REP = _F.LABEL_REPEATED
_PKG = "prometheus"

# (name, number, type, label, message type name or None, oneof index or None)
_Field = tuple[str, int, int, int, str | None, int | None]


def _msg(
    fdp: descriptor_pb2.FileDescriptorProto,
    name: str,
    fields: list[_Field],
    oneofs: tuple[str, ...] = (),
) -> None:
    m = fdp.message_type.add(name=name)
    for oneof in oneofs:
        m.oneof_decl.add(name=oneof)
    for fname, num, typ, label, type_name, oneof_index in fields:
        f = m.field.add(name=fname, number=num, type=typ, label=label)
        if type_name:
            f.type_name = f".{_PKG}.{type_name}"
        if oneof_index is not None:
            f.oneof_index = oneof_index


def _types_file() -> descriptor_pb2.FileDescriptorProto:
    fdp = descriptor_pb2.FileDescriptorProto(
        name="sloguard/prompb/remote.proto", package=_PKG, syntax="proto3"
    )
    metric_type = fdp.enum_type.add(name="MetricType")
    for i, n in enumerate(
        ["UNKNOWN", "COUNTER", "GAUGE", "HISTOGRAM", "GAUGEHISTOGRAM", "SUMMARY", "INFO", "STATESET"]
    ):
        metric_type.value.add(name=n, number=i)
    reset_hint = fdp.enum_type.add(name="ResetHint")
    for i, n in enumerate(["RESET_HINT_UNKNOWN", "RESET_HINT_YES", "RESET_HINT_NO", "RESET_HINT_GAUGE"]):
        reset_hint.value.add(name=n, number=i)
    S, D, I64, U64 = _F.TYPE_STRING, _F.TYPE_DOUBLE, _F.TYPE_INT64, _F.TYPE_UINT64
    M = _F.TYPE_MESSAGE
    _msg(fdp, "Label", [("name", 1, S, _OPT, None, None), ("value", 2, S, _OPT, None, None)])
    _msg(fdp, "Sample", [("value", 1, D, _OPT, None, None), ("timestamp", 2, I64, _OPT, None, None)])
    _msg(fdp, "Exemplar", [
        ("labels", 1, M, _REP, "Label", None),
        ("value", 2, D, _OPT, None, None),
        ("timestamp", 3, I64, _OPT, None, None),
    ])
    _msg(fdp, "BucketSpan", [
        ("offset", 1, _F.TYPE_SINT32, _OPT, None, None),
        ("length", 2, _F.TYPE_UINT32, _OPT, None, None),
    ])
    _msg(fdp, "Histogram", [
        ("count_int", 1, U64, _OPT, None, 0),
        ("count_float", 2, D, _OPT, None, 0),
        ("sum", 3, D, _OPT, None, None),
        ("schema", 4, _F.TYPE_SINT32, _OPT, None, None),
        ("zero_threshold", 5, D, _OPT, None, None),
        ("zero_count_int", 6, U64, _OPT, None, 1),
        ("zero_count_float", 7, D, _OPT, None, 1),
        ("negative_spans", 8, M, _REP, "BucketSpan", None),
        ("negative_deltas", 9, _F.TYPE_SINT64, _REP, None, None),
        ("negative_counts", 10, D, _REP, None, None),
        ("positive_spans", 11, M, _REP, "BucketSpan", None),
        ("positive_deltas", 12, _F.TYPE_SINT64, _REP, None, None),
        ("positive_counts", 13, D, _REP, None, None),
        ("reset_hint", 14, _F.TYPE_ENUM, _OPT, None, None),
        ("timestamp", 15, I64, _OPT, None, None),
    ], oneofs=("count", "zero_count"))
    fdp.message_type[-1].field[13].type_name = f".{_PKG}.Histogram.ResetHint"
    fdp.message_type[-1].enum_type.add().CopyFrom(reset_hint)
    del fdp.enum_type[1]
    _msg(fdp, "TimeSeries", [
        ("labels", 1, M, _REP, "Label", None),
        ("samples", 2, M, _REP, "Sample", None),
        ("exemplars", 3, M, _REP, "Exemplar", None),
        ("histograms", 4, M, _REP, "Histogram", None),
    ])
    _msg(fdp, "MetricMetadata", [
        ("type", 1, _F.TYPE_ENUM, _OPT, None, None),
        ("metric_family_name", 2, S, _OPT, None, None),
        ("help", 4, S, _OPT, None, None),
        ("unit", 5, S, _OPT, None, None),
    ])
    fdp.message_type[-1].field[0].type_name = f".{_PKG}.MetricMetadata.MetricType"
    fdp.message_type[-1].enum_type.add().CopyFrom(metric_type)
    del fdp.enum_type[0]
    _msg(fdp, "WriteRequest", [
        ("timeseries", 1, M, _REP, "TimeSeries", None),
        ("metadata", 3, M, _REP, "MetricMetadata", None),
    ])
    return fdp


def _raw_file() -> descriptor_pb2.FileDescriptorProto:
    fdp = descriptor_pb2.FileDescriptorProto(
        name="sloguard/prompb/raw.proto", package=f"{_PKG}.raw", syntax="proto3"
    )
    B = _F.TYPE_BYTES
    fdp.message_type.add(name="WriteRequest").field.add(
        name="timeseries", number=1, type=B, label=_REP
    )
    ts = fdp.message_type.add(name="TimeSeries")
    for name, num in (("labels", 1), ("samples", 2), ("exemplars", 3), ("histograms", 4)):
        ts.field.add(name=name, number=num, type=B, label=_REP)
    label = fdp.message_type.add(name="Label")
    label.field.add(name="name", number=1, type=B, label=_OPT)
    label.field.add(name="value", number=2, type=B, label=_OPT)
    return fdp


def _classes(fdp: descriptor_pb2.FileDescriptorProto) -> dict[str, Any]:
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return {
        m.name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{fdp.package}.{m.name}"))
        for m in fdp.message_type
    }


_TYPES = _classes(_types_file())
WriteRequest: Any = _TYPES["WriteRequest"]
TimeSeries: Any = _TYPES["TimeSeries"]
Label: Any = _TYPES["Label"]
Sample: Any = _TYPES["Sample"]
Exemplar: Any = _TYPES["Exemplar"]
Histogram: Any = _TYPES["Histogram"]
BucketSpan: Any = _TYPES["BucketSpan"]
MetricMetadata: Any = _TYPES["MetricMetadata"]

_RAW = _classes(_raw_file())
RawWriteRequest: Any = _RAW["WriteRequest"]
RawTimeSeries: Any = _RAW["TimeSeries"]
RawLabel: Any = _RAW["Label"]
