"""The base of every knowledge-base model: immutable, strict about unknown keys, locatable."""

from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, PrivateAttr

V = TypeVar("V")


class KBModel(BaseModel):
    """A knowledge-base entry. ``_path`` ("rules.yaml: R3.when") is set once the document loaded,
    so cross-reference errors and the coverage report name the place in the YAML."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)
    _path: str = PrivateAttr(default="")

    @property
    def kb_path(self) -> str:
        return self.__pydantic_private__["_path"]  # type: ignore[index]


class KBDict(dict[str, Any]):
    """A mapping of the knowledge base whose entries are looked up by key (regimens by id, override
    reasons by code). It records key reads while the coverage check runs (``coverage.recording``);
    otherwise it is a plain dict."""

    kb_path: str = ""

    def __getitem__(self, key: str) -> Any:
        _note_key(self, key)
        return dict.__getitem__(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        if key in self:
            _note_key(self, key)
        return dict.get(self, key, default)


def _note_key(table: KBDict, key: str) -> None:
    from clinical_rules.kbmodel import coverage  # the recorder is only active in the coverage check

    if coverage.ACTIVE is not None:
        coverage.ACTIVE.note(table.kb_path, key)


# ``Table[Regimen]``: a YAML mapping of named entries, kept in YAML order.
Table = Annotated[dict[str, V], AfterValidator(KBDict)]
