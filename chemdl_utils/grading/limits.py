"""The one description of what grading one notebook may use: :class:`Limits`.

Every step reads the same object: ``chemdl grade autograde`` builds it once from its options and
the course's nbgrader configuration (:meth:`Limits.from_options`), ``autograde`` hands it to each
grading process or Dask task, the grader (``grader.grade_notebook``) reads the time limits, and
the OS sandbox (``isolation``) reads the byte values it needs from properties
(:attr:`Limits.memory_bytes`, ...). Nothing converts limits anywhere else.

The instructor speaks in seconds, MiB and characters; the sandbox needs bytes. Each size is stored
once, in the instructor's unit; its byte value is a property. For code written against the
sandbox, the byte names are also accepted as keyword arguments (``Limits(memory_bytes=2**31)``)
and stored in MiB (they must then be whole MiB).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import asdict, dataclass
from typing import Any, Mapping

__all__ = ["Limits", "coerce_limits", "LEVELS"]

#: isolation levels, strongest first (``isolation`` explains each)
LEVELS = ("bwrap", "unshare", "user", "rlimits")

_MiB = 1 << 20
#: byte-valued keyword -> the MiB field it sets
_BYTES_TO_MIB = {"memory_bytes": "memory_mb", "max_file_bytes": "max_file_mb", "max_disk_bytes": "max_disk_mb",
                 "tmp_bytes": "tmp_mb", "max_message_bytes": "max_message_mb"}
#: output budgets are counted in characters of JSON text, which ``json.dumps`` keeps ASCII: the
#: byte names are the same numbers
_SAME_AS = {"max_output_bytes": "max_output_chars", "max_total_output_bytes": "max_total_output_chars"}


@dataclass(frozen=True)
class Limits:
    """Resource limits of grading one notebook (one student's kernel in its sandbox).

    Time: ``cell_timeout`` seconds per cell (the cell then scores zero and the kernel restarts),
    ``notebook_timeout`` for the whole notebook, kernel starts included (past it the submission
    fails and no grade is written: rerun with a larger limit), ``startup_timeout`` per kernel start.

    Memory and disk (MiB): ``memory_mb`` address space of the kernel (RLIMIT_AS; torch needs about
    1.5 GiB), ``max_file_mb`` largest file it may write (RLIMIT_FSIZE), ``max_disk_mb`` all files
    it adds to its working copy together (past it the kernel is stopped and those files deleted),
    ``tmp_mb`` its private ``/tmp``, ``max_message_mb`` largest single message the grader accepts
    from it.

    Output (characters): ``max_output_chars`` kept per cell, ``max_total_output_chars`` per
    notebook; the rest is dropped with a notice.

    Processes: ``max_processes`` (RLIMIT_NPROC of the sandbox uid, threads count),
    ``max_open_files``, ``max_restarts`` kernel restarts (after a crash or a cell timeout) before
    the remaining cells score zero.

    Sandbox: ``readonly_paths`` extra paths the kernel may read, ``protected_paths`` instructor
    paths that must stay unreadable (the "user" level checks them), ``env_passthrough`` variables
    copied into the kernel's otherwise allow-listed environment, ``level`` a forced isolation level
    (else ``CHEMDL_ISOLATION``, else the strongest that works).
    """

    cell_timeout: float = 120.0
    notebook_timeout: float = 900.0
    startup_timeout: float = 60.0
    memory_mb: int = 4096
    max_file_mb: int = 256
    max_disk_mb: int = 512
    tmp_mb: int = 256
    max_message_mb: int = 32
    max_output_chars: int = 100_000
    max_total_output_chars: int = 2 * _MiB
    max_processes: int = 64
    max_open_files: int = 1024
    max_restarts: int = 5
    readonly_paths: tuple[str, ...] = ()
    protected_paths: tuple[str, ...] = ()
    env_passthrough: tuple[str, ...] = ("LANG", "LC_ALL", "TZ", "CHEMDL_PROGRESS", "OMP_NUM_THREADS")
    level: str | None = None

    def __post_init__(self) -> None:
        for name in ("cell_timeout", "notebook_timeout", "startup_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        for name in ("memory_mb", "max_file_mb", "max_disk_mb", "tmp_mb", "max_message_mb", "max_output_chars",
                     "max_total_output_chars", "max_processes", "max_open_files"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(self.max_restarts, bool) or not isinstance(self.max_restarts, int) or self.max_restarts < 0:
            raise ValueError(f"max_restarts must be an integer >= 0, got {self.max_restarts!r}")
        for name in ("readonly_paths", "protected_paths", "env_passthrough"):
            value = getattr(self, name)
            if isinstance(value, (str, bytes)):
                raise ValueError(f"{name} must be a list of strings, not one string ({value!r})")
            object.__setattr__(self, name, tuple(str(p) for p in value))
        if self.level is not None and self.level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)} (or None: the strongest here), "
                             f"got {self.level!r}")

    # -- the byte values the sandbox needs ------------------------------------------------------
    @property
    def memory_bytes(self) -> int:
        """``memory_mb`` in bytes (RLIMIT_AS)."""
        return self.memory_mb * _MiB

    @property
    def max_file_bytes(self) -> int:
        """``max_file_mb`` in bytes (RLIMIT_FSIZE)."""
        return self.max_file_mb * _MiB

    @property
    def max_disk_bytes(self) -> int:
        """``max_disk_mb`` in bytes (the working copy's quota)."""
        return self.max_disk_mb * _MiB

    @property
    def tmp_bytes(self) -> int:
        """``tmp_mb`` in bytes (size of the private ``/tmp``)."""
        return self.tmp_mb * _MiB

    @property
    def max_message_bytes(self) -> int:
        """``max_message_mb`` in bytes (largest ZeroMQ message from the kernel)."""
        return self.max_message_mb * _MiB

    @property
    def max_output_bytes(self) -> int:
        """``max_output_chars`` (output is measured as ASCII JSON text: one byte per character)."""
        return self.max_output_chars

    @property
    def max_total_output_bytes(self) -> int:
        """``max_total_output_chars`` (one byte per character, as above)."""
        return self.max_total_output_chars

    # -- serialization and construction --------------------------------------------------------
    def to_json(self) -> str:
        """The limits as a JSON object."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Limits":
        """Inverse of :meth:`to_json`."""
        return cls(**json.loads(text))

    @classmethod
    def from_options(cls, config: Any = None, **options: Any) -> "Limits":
        """The limits of ``chemdl grade``: nbgrader's configuration first, then explicit options.

        ``config`` is a traitlets ``Config`` (``Course.nbgrader_config()``): the per-cell timeout
        of nbgrader's executor (``Execute.timeout``, or the older ``ExecutePreprocessor.timeout``)
        becomes ``cell_timeout``, so a course configured for plain ``nbgrader autograde`` grades
        with the same limit here. ``options`` are :class:`Limits` fields (or their byte names);
        ``None`` values are ignored (an option the instructor did not give).
        """
        values: dict[str, Any] = {}
        if config is not None:
            for section in ("ExecutePreprocessor", "Execute"):  # the newer name wins
                timeout = _config_value(config, section, "timeout")
                if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout > 0:
                    values["cell_timeout"] = float(timeout)
        values.update({k: v for k, v in options.items() if v is not None})
        return cls(**values)


def _config_value(config: Any, section: str, trait: str) -> Any:
    """``config.section.trait`` if it was set (traitlets creates empty sections on access)."""
    if section not in config:
        return None
    sub = config[section]
    return sub[trait] if trait in sub else None


_generated_init = Limits.__init__


@functools.wraps(_generated_init)
def _init(self: Limits, *args: Any, **kwargs: Any) -> None:
    for byte_name, field_name in _BYTES_TO_MIB.items():
        if byte_name in kwargs:
            value = kwargs.pop(byte_name)
            if field_name in kwargs:
                raise TypeError(f"give {field_name} or {byte_name}, not both")
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0 or value % _MiB:
                raise ValueError(f"{byte_name} must be a positive whole number of MiB in bytes "
                                 f"(e.g. {3 * _MiB}), got {value!r}; or give {field_name}")
            kwargs[field_name] = value // _MiB
    for byte_name, field_name in _SAME_AS.items():
        if byte_name in kwargs:
            value = kwargs.pop(byte_name)
            if field_name in kwargs:
                raise TypeError(f"give {field_name} or {byte_name}, not both")
            kwargs[field_name] = value
    _generated_init(self, *args, **kwargs)


Limits.__init__ = _init  # type: ignore[method-assign]

_FIELDS = frozenset(f.name for f in dataclasses.fields(Limits)) | set(_BYTES_TO_MIB) | set(_SAME_AS)


def coerce_limits(limits: Limits | Mapping[str, Any] | None = None) -> Limits:
    """``limits`` as :class:`Limits`: ``None`` gives the defaults, a mapping its fields (a key
    that is not a field is an error, never silently ignored)."""
    if limits is None:
        return Limits()
    if isinstance(limits, Limits):
        return limits
    if isinstance(limits, Mapping):
        unknown = sorted(set(limits) - _FIELDS)
        if unknown:
            raise TypeError(f"unknown limit(s) {', '.join(map(str, unknown))}; the fields of Limits are "
                            f"{', '.join(f.name for f in dataclasses.fields(Limits))}")
        return Limits(**limits)
    raise TypeError(f"limits must be a Limits (chemdl_utils.grading.limits), a mapping or None, "
                    f"not {type(limits).__name__}")
