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


# The coverage recorder while the coverage check runs (clinical_rules.kbmodel.coverage), else None.
RECORDER: Any = None


class KBDict(dict[str, Any]):
    """A mapping of the knowledge base whose entries are looked up by key (regimens by id, override
    reasons by code). It records key reads while the coverage check runs (``coverage.recording``);
    otherwise it is a plain dict."""

    kb_path: str = ""

    def __getitem__(self, key: str) -> Any:
        if RECORDER is not None:
            RECORDER.note(self.kb_path, key)
        return dict.__getitem__(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        if RECORDER is not None and key in self:
            RECORDER.note(self.kb_path, key)
        return dict.get(self, key, default)


# ``Table[Regimen]``: a YAML mapping of named entries, kept in YAML order.
Table = Annotated[dict[str, V], AfterValidator(KBDict)]
