"""Event in, result out: JSON both ways; bytes results pass through untouched."""

import decimal
import json

from . import errors


class _Encoder(json.JSONEncoder):
    def default(self, obj):
        # DynamoDB hands out Decimals; AWS's client (simplejson) serialises them as numbers.
        if isinstance(obj, decimal.Decimal):
            if obj.is_nan():
                return float("nan")
            return int(obj) if obj == obj.to_integral_value() else float(obj)
        return super().default(obj)


_encoder = _Encoder()


def to_json(obj):
    return _encoder.encode(obj)


def unmarshal_event(body, content_type):
    if content_type != "application/json":
        return body
    try:
        return json.loads(body)
    except Exception as e:
        raise errors.FaultException(errors.UNMARSHAL_ERROR, "Unable to unmarshal input: {}".format(e))


def marshal_result(result):
    if isinstance(result, bytes):
        return result, "application/unknown"
    try:
        return to_json(result), "application/json"
    except Exception as e:
        raise errors.FaultException(errors.MARSHAL_ERROR, "Unable to marshal response: {}".format(e))
