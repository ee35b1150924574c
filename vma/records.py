"""Validated records: the chart (contract section 4) and the findings report (section 5).

Every ``vma check`` builds these, so they must cost nothing at start-up. Pydantic's import and model
build were about a third of a one-chart run (measured with ``-X importtime``: 90 ms of 300 ms), and
msgspec, the fast alternative, neither keeps the unknown fields an EHR sends (which intake keeps, and
reads: ``authenticated``, ``revision_kind``, ``cancelled``) nor reports every problem of an input at once
(contract section 2: one line per problem). So the few shapes the contract fixes are declared here,
each field once, with the behaviour the project relied on from pydantic's lax mode kept exactly,
messages included: strings are stripped where the record says so, an integer may arrive as a whole
float or a string of digits, and every problem is reported with its dotted location.

A record keeps the subset of pydantic's ``BaseModel`` interface the project uses (``model_validate``,
``model_dump``, ``model_dump_json``, ``model_copy``, ``model_extra``, ``model_json_schema``), so its
callers read as before.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Callable, ClassVar

Loc = tuple
Errors = list  # of (location, message)

_INT_TEXT = re.compile(r"[+-]?[0-9](?:_?[0-9])*(?:\.0+)?")
# What pydantic strips: Unicode's White_Space. Python's str.strip() also takes U+001C-U+001F (the
# information separators, one of them MLLP's end-of-block byte), which are data, not padding.
_WHITESPACE = ("\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
               "\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_NOT_UNICODE = "Input should be a valid string, unable to parse raw data as a unicode string"
_TOO_BIG = "Unable to parse input string as an integer, exceeded maximum size"
_INT64 = 2.0 ** 63


def _is_unicode(text: str) -> bool:
    """False for a string holding a lone surrogate (json.loads lets "\\ud800" through): it cannot be
    written out as UTF-8, so it would fail later, where the field is no longer named."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _plain(value: Any, json_mode: bool) -> Any:
    """A copy of an unknown field's value for a dump: containers copied (a dump's owner may change it),
    and for JSON, tuples as lists and a NaN or infinity as null, as pydantic writes them."""
    if isinstance(value, dict):
        return {k: _plain(v, json_mode) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_plain(v, json_mode) for v in value]
        return items if json_mode or isinstance(value, list) else tuple(items)
    if json_mode and isinstance(value, float) and not math.isfinite(value):
        return None
    return value
_MISSING = object()
# What json.dumps builds on every call with these options: one encoder, made once (it keeps no state).
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


class RecordError(ValueError):
    """Input that does not fit a record: every problem, each as (location, message)."""

    def __init__(self, errors: list[tuple[Loc, str]]):
        self.problems = errors
        super().__init__("; ".join(f"{'.'.join(map(str, loc)) or '(record)'}: {msg}" for loc, msg in errors))


# -- value kinds: each reads one value, appending a problem (and returning _MISSING) when it cannot ------


class Kind:
    schema: dict = {}

    def read(self, value: Any, loc: Loc, errors: Errors, strip: bool) -> Any:
        raise NotImplementedError

    def dump(self, value: Any, exclude_none: bool, json_mode: bool) -> Any:
        return value


class Text(Kind):
    schema = {"type": "string"}

    def __init__(self, min_length: int = 0):
        self.min_length = min_length
        if min_length:
            self.schema = {"minLength": min_length, "type": "string"}

    def read(self, value, loc, errors, strip):
        if not isinstance(value, str):
            errors.append((loc, "Input should be a valid string"))
            return _MISSING
        if not _is_unicode(value):
            errors.append((loc, _NOT_UNICODE))
            return _MISSING
        if strip:
            value = value.strip(_WHITESPACE)
        if len(value) < self.min_length:
            errors.append((loc, f"String should have at least {self.min_length} character"
                                + ("s" if self.min_length > 1 else "")))
            return _MISSING
        return value


class Integer(Kind):
    def __init__(self, ge: int | None = None):
        self.ge = ge
        self.schema = {"type": "integer"} if ge is None else {"minimum": ge, "type": "integer"}

    def read(self, value, loc, errors, strip):
        if isinstance(value, int):  # bool too, as pydantic's lax mode takes it
            number = int(value)
        elif isinstance(value, float):
            if not math.isfinite(value):
                errors.append((loc, "Input should be a finite number"))
                return _MISSING
            if not value.is_integer():
                errors.append((loc, "Input should be a valid integer, got a number with a fractional part"))
                return _MISSING
            if not -_INT64 < value < _INT64:
                errors.append((loc, _TOO_BIG))
                return _MISSING
            number = int(value)
        elif isinstance(value, str):
            text = value.strip(_WHITESPACE)
            if not _INT_TEXT.fullmatch(text):
                errors.append((loc, "Input should be a valid integer, unable to parse string as an integer"))
                return _MISSING
            try:
                number = int(text.split(".", 1)[0])
            except ValueError:  # over Python's 4,300 digits for int()
                errors.append((loc, _TOO_BIG))
                return _MISSING
        else:
            errors.append((loc, "Input should be a valid integer"))
            return _MISSING
        if self.ge is not None and number < self.ge:
            errors.append((loc, f"Input should be greater than or equal to {self.ge}"))
            return _MISSING
        return number


class OneOf(Kind):
    """One of a few fixed strings, taken as sent (not stripped)."""

    def __init__(self, *values: str):
        self.values = values
        self.schema = {"enum": list(values), "type": "string"}
        quoted = [f"'{v}'" for v in values]
        self.message = "Input should be " + (f"{', '.join(quoted[:-1])} or {quoted[-1]}" if len(quoted) > 1
                                              else quoted[0])

    def read(self, value, loc, errors, strip):
        if isinstance(value, str) and value in self.values:
            return value
        errors.append((loc, self.message))
        return _MISSING


class ListOf(Kind):
    def __init__(self, item: Kind):
        self.item = item
        self.record = _nested_record(item)  # items that are records: a plain dict is read inline
        self.plain_items = type(item).dump is Kind.dump  # items written as they are

    @property
    def schema(self):
        return {"items": self.item.schema, "type": "array"}

    def read(self, value, loc, errors, strip):
        if not isinstance(value, (list, tuple)):
            errors.append((loc, "Input should be a valid list"))
            return _MISSING
        before = len(errors)
        record = self.record
        if record is None:
            out = [self.item.read(v, (*loc, i), errors, strip) for i, v in enumerate(value)]
            return out if len(errors) == before else _MISSING
        out = []
        for i, v in enumerate(value):
            if type(v) is dict:  # what Nested.read does with a plain dict
                out.append(record._read(v, (*loc, i), errors))
            else:
                out.append(self.item.read(v, (*loc, i), errors, strip))
        return out if len(errors) == before else _MISSING

    def dump(self, value, exclude_none, json_mode):
        if self.plain_items:
            return list(value)
        return [self.item.dump(v, exclude_none, json_mode) for v in value]


class TextMap(Kind):
    schema = {"additionalProperties": {"type": "string"}, "type": "object"}

    def read(self, value, loc, errors, strip):
        if not isinstance(value, dict):
            errors.append((loc, "Input should be a valid dictionary"))
            return _MISSING
        out = {}
        before = len(errors)
        for key, item in value.items():
            if not isinstance(key, str) or not _is_unicode(key):
                errors.append(((*loc, key, "[key]"), _NOT_UNICODE if isinstance(key, str) else
                               "Input should be a valid string"))
                continue
            if not isinstance(item, str) or not _is_unicode(item):
                message = _NOT_UNICODE if isinstance(item, str) else "Input should be a valid string"
                errors.append(((*loc, key), message))
                continue
            out[key.strip(_WHITESPACE) if strip else key] = item.strip(_WHITESPACE) if strip else item
        return out if len(errors) == before else _MISSING

    def dump(self, value, exclude_none, json_mode):
        return dict(value)  # a copy: the dump's owner may change it


class Nested(Kind):
    def __init__(self, record: type[Record]):
        self.record = record

    @property
    def schema(self):
        return {"$ref": f"#/$defs/{self.record.__name__}"}

    def read(self, value, loc, errors, strip):
        if isinstance(value, self.record):
            return value
        if not isinstance(value, dict):
            errors.append((loc, f"Input should be a valid dictionary or instance of {self.record.__name__}"))
            return _MISSING
        return self.record._read(value, loc, errors)

    def dump(self, value, exclude_none, json_mode):
        return value.model_dump("json" if json_mode else "python", exclude_none=exclude_none)


def _nested_record(kind: Kind) -> type[Record] | None:
    return kind.record if type(kind) is Nested else None


def _is_plain(field: Field) -> bool:
    return (type(field.kind) is Text and not field.kind.min_length and field.optional and field.default is None
            and field.factory is None and field.before is None and field.after is None)


class Field:
    """One field of a record: its kind, whether it may be None, its default, and hooks.

    ``before`` sees the raw value (None included) ahead of the kind; ``after`` sees the read value."""

    def __init__(self, kind: Kind, *, optional: bool = False, default: Any = _MISSING,
                 factory: Callable[[], Any] | None = None, before: Callable[[Any], Any] | None = None,
                 after: Callable[[Any], Any] | None = None, exclude: bool = False):
        self.kind = kind
        self.optional = optional
        self.default = None if (optional and default is _MISSING and factory is None) else default
        self.factory = factory
        self.before = before
        self.after = after
        self.exclude = exclude
        self.name = ""

    @property
    def required(self) -> bool:
        return self.default is _MISSING and self.factory is None

    def missing_value(self) -> Any:
        return self.factory() if self.factory is not None else self.default


# -- the record base ------------------------------------------------------------------------------------


class Record:
    """A record whose fields are the ``Field`` class attributes, in the order they are declared."""

    fields: ClassVar[tuple[Field, ...]] = ()
    _read_plan: ClassVar[tuple] = ()  # per field: name, hooks, required, default and reader (set per class)
    keep_extra: ClassVar[bool] = False  # unknown keys are kept in model_extra (else ignored)
    strip_text: ClassVar[bool] = False  # strings have their outer whitespace stripped
    _derives: ClassVar[bool] = False  # model_post_init does something (set per class)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = []
        for name, value in list(vars(cls).items()):
            if isinstance(value, Field):
                value.name = name
                own.append(value)
                delattr(cls, name)  # the instance's attribute, not the declaration, answers
        inherited = [f for f in cls.fields if f.name not in {o.name for o in own}]
        cls.fields = (*inherited, *own)
        cls._names = frozenset(f.name for f in cls.fields)
        # What a dump writes, worked out once: a plain value (text, number) is written as it is.
        cls._written = tuple((f.name, None if type(f.kind).dump is Kind.dump else f.kind.dump)
                             for f in cls.fields if not f.exclude)
        # And what a read does with each field, worked out once per class rather than once per record:
        # (name, plain, how). A plain field (optional text, no minimum length, no hooks, None by default),
        # most of a chart's, has its ASCII strings and its None read inline, ``plain`` being what is stripped
        # from them (nothing where the record strips nothing); ``how`` is the rest.
        cls._read_plan = tuple(
            (f.name, (_WHITESPACE if cls.strip_text else "") if _is_plain(f) else None, (f.before, f.required, f.factory, f.default, f.optional, f.kind.read, f.after,
                                    type(f.kind) is Text and not f.kind.min_length, _nested_record(f.kind)))
            for f in cls.fields)
        # Most records derive nothing once read: the call is made only where a record does.
        cls._derives = cls.model_post_init is not Record.model_post_init
        # A read stores each value straight in the instance's __dict__, which is what setting the attribute
        # does while nothing on the class (a property) answers for that name.
        taken = [name for name in (*cls._names, "model_extra") if hasattr(cls, name)]
        if taken:
            raise TypeError(f"{cls.__name__}: {', '.join(taken)} would hide a field's value")

    def __init__(self, **values: Any):
        errors: Errors = []
        self._fill(values, (), errors)
        if errors:
            raise RecordError(errors)
        if self._derives:
            self.model_post_init(None)

    # reading

    @classmethod
    def model_validate(cls, data: Any) -> Any:
        if isinstance(data, cls):
            return data
        errors: Errors = []
        if not isinstance(data, dict):
            raise RecordError([((), f"Input should be a valid dictionary or instance of {cls.__name__}")])
        record = cls._read(data, (), errors)
        if errors:
            raise RecordError(errors)
        return record

    @classmethod
    def _read(cls, data: dict, loc: Loc, errors: Errors) -> Any:
        record = cls.__new__(cls)
        before = len(errors)
        record._fill(data, loc, errors)
        if len(errors) != before:
            return _MISSING
        if cls._derives:  # from fields all read: a field that failed is not there to derive from
            record.model_post_init(None)
        return record

    def _fill(self, data: dict, loc: Loc, errors: Errors) -> None:
        """Read every field of ``data`` into this record, adding the problems to ``errors``; the caller
        derives (``model_post_init``) if none was added."""
        values = self.__dict__
        get = data.get
        for name, plain, how in self._read_plan:
            value = get(name, _MISSING)
            if plain is not None:
                if type(value) is str and value.isascii():  # what Text.read does with valid UTF-8
                    values[name] = value.strip(plain)
                    continue
                if value is None or value is _MISSING:  # None, the field's default
                    values[name] = None
                    continue
            before_hook, required, factory, default, optional, read, after, plain_text, nested = how
            if before_hook is not None and value is not _MISSING:
                value = before_hook(value)
            if value is _MISSING:
                if required:
                    errors.append(((*loc, name), "Field required"))
                    continue
                values[name] = factory() if factory is not None else default
                continue
            if value is None and optional:
                values[name] = None
                continue
            if plain_text and type(value) is str and value.isascii():
                if self.strip_text:  # what Text.read does with a string that is valid UTF-8
                    value = value.strip(_WHITESPACE)
            elif nested is not None and type(value) is dict:
                value = nested._read(value, (*loc, name), errors)  # what Nested.read does with a plain dict
                if value is _MISSING:
                    continue
            else:
                value = read(value, (*loc, name), errors, self.strip_text)
                if value is _MISSING:
                    continue
            if after is not None:
                value = after(value)
            values[name] = value
        if self.keep_extra:
            names = self._names
            # most records carry only their own fields: one subset test settles that they keep nothing
            values["model_extra"] = ({} if names.issuperset(data)
                                     else {k: v for k, v in data.items() if k not in names})
        else:
            values["model_extra"] = None

    def model_post_init(self, __context: object) -> None:
        """Work done once every field is read (a record may derive one field from others)."""

    # writing

    def model_dump(self, mode: str = "python", exclude_none: bool = False,
                   include: set[str] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        values = self.__dict__
        json_mode = mode == "json"
        for name, dump in self._written:
            if include is not None and name not in include:
                continue
            value = values[name]
            if value is None:
                if not exclude_none:
                    out[name] = None
            else:
                out[name] = value if dump is None else dump(value, exclude_none, json_mode)
        if self.model_extra:
            for key, value in self.model_extra.items():
                if not (exclude_none and value is None) and (include is None or key in include):
                    out[key] = _plain(value, json_mode)
        return out

    def model_dump_json(self) -> str:
        # Compact and UTF-8, as the findings lines have always been printed (contract section 5).
        return _COMPACT_JSON.encode(self.model_dump(mode="json"))

    def model_copy(self, update: dict[str, Any] | None = None) -> Any:
        """A shallow copy with ``update`` set as given (not read again, as pydantic's copy does); an
        update of no field goes to the copy's unknown fields, which are its own."""
        copy = self.__class__.__new__(self.__class__)
        copy.__dict__.update(self.__dict__)
        if self.model_extra is not None:
            object.__setattr__(copy, "model_extra", dict(self.model_extra))
        for key, value in (update or {}).items():
            if key not in self._names and copy.model_extra is not None:
                copy.model_extra[key] = value
            else:
                object.__setattr__(copy, key, value)
        return copy

    @classmethod
    def model_json_schema(cls) -> dict[str, Any]:
        defs: dict[str, dict] = {}
        top = cls._schema(defs)
        if defs:
            top = {"$defs": dict(sorted(defs.items())), **top}
        return json.loads(json.dumps(top))  # the caller's own: the kinds' schema parts are shared

    @classmethod
    def _schema(cls, defs: dict[str, dict]) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        for field in cls.fields:
            if field.exclude:
                continue
            kinds = [field.kind]
            while kinds:  # the records it refers to, for $defs
                kind = kinds.pop()
                if isinstance(kind, Nested) and kind.record.__name__ not in defs:
                    defs[kind.record.__name__] = {}
                    defs[kind.record.__name__] = kind.record._schema(defs)
                elif isinstance(kind, ListOf):
                    kinds.append(kind.item)
            schema = dict(field.kind.schema)
            if field.optional:
                schema = {"anyOf": [schema, {"type": "null"}]}
            if not field.required and field.factory is None:  # as pydantic: a factory's value is not shown
                schema["default"] = field.missing_value()
            if not isinstance(field.kind, Nested):
                schema["title"] = field.name.replace("_", " ").title()
            properties[field.name] = dict(sorted(schema.items()))
        out: dict[str, Any] = {}
        if cls.keep_extra:
            out["additionalProperties"] = True
        if cls.__doc__ and cls.__doc__ is not Record.__doc__:
            out["description"] = cls.__doc__.strip()
        out["properties"] = properties
        required = [f.name for f in cls.fields if f.required and not f.exclude]
        if required:
            out["required"] = required
        out["title"] = cls.__name__
        out["type"] = "object"
        return out

    # comparing and showing

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]  # mutable, as pydantic's models are

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={getattr(self, f.name, None)!r}" for f in self.fields)
        return f"{self.__class__.__name__}({shown})"

    def __str__(self) -> str:
        return " ".join(f"{f.name}={getattr(self, f.name, None)!r}" for f in self.fields)
