"""What each declaration may contain: field types, value ranges, references, built-in traits.

The checker validates declaration bodies against these tables; docs/language.md
documents them. Adding a field is a one-line change here.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Spec:
    """The expected shape of one field value."""

    kind: str  # string | int | number | bool | enum | refs | ref | block | typename | any
    minimum: float | None = None
    maximum: float | None = None
    exclusive_min: bool = False  # True: value must be > minimum ("positive")
    choices: tuple[str, ...] = ()
    ref_kinds: tuple[str, ...] = ()  # skill | guard | guardchain | channel | function
    fields: dict[str, Spec] = field(default_factory=dict)  # for kind == "block"
    strict: bool = True  # block: unknown keys are errors (else warnings)

    def describe(self) -> str:
        if self.kind == "int":
            return "a positive integer" if self.exclusive_min else "an integer"
        if self.kind == "number":
            return "a positive number" if self.exclusive_min else "a number"
        if self.kind == "enum":
            return "one of " + ", ".join(f'"{c}"' for c in self.choices)
        return {
            "string": "a string",
            "bool": "true or false",
            "refs": "a list of names",
            "ref": "a name",
            "block": "a block { ... }",
            "typename": "a type name",
        }.get(self.kind, "a value")


STRING = Spec("string")
BOOL = Spec("bool")
ANY = Spec("any")
TYPENAME = Spec("typename")
POS_INT = Spec("int", minimum=0, exclusive_min=True)
POS_NUMBER = Spec("number", minimum=0, exclusive_min=True)


def enum(*choices: str) -> Spec:
    return Spec("enum", choices=choices)


def number_range(lo: float, hi: float) -> Spec:
    return Spec("number", minimum=lo, maximum=hi)


def int_range(lo: int, hi: int) -> Spec:
    return Spec("int", minimum=lo, maximum=hi)


def refs(*kinds: str) -> Spec:
    return Spec("refs", ref_kinds=kinds)


def ref(*kinds: str) -> Spec:
    return Spec("ref", ref_kinds=kinds)


def ref_or_value(*kinds: str) -> Spec:
    """A name that must resolve to one of ``kinds``, or an inline value (not checked)."""
    return Spec("ref_or_value", ref_kinds=kinds)


def block(fields: dict[str, Spec], strict: bool = True) -> Spec:
    return Spec("block", fields=fields, strict=strict)


COMPACTION = ("auto", "manual", "disabled")
CHECKPOINT = ("git", "snapshot", "none")
SEARCH_MODES = ("keyword", "vector", "hybrid", "none")

SESSION = block(
    {
        "idle_reset_minutes": POS_INT,
        "max_history_turns": POS_INT,
        "compaction": enum(*COMPACTION),
        "compaction_threshold": Spec("number", minimum=0, maximum=1, exclusive_min=True),
        "daily_reset_hour": int_range(0, 23),
        "persist": BOOL,
        "sessions_dir": STRING,
    }
)

SEMANTIC_MEMORY = block(
    {
        "search": enum(*SEARCH_MODES),
        "backend": STRING,
        "embedding_model": STRING,
        "top_k": POS_INT,
        "limit": POS_INT,
        "auto_inject": BOOL,
        "flush_on_compaction": BOOL,
        "flush_on_compact": BOOL,
        "index": refs(),
        "paths": ANY,
        "path": STRING,
        "db_path": STRING,
        "chunk_size": POS_INT,
        "chunk_overlap": Spec("int", minimum=0),
        "min_score": number_range(0, 1),
        "vector_weight": number_range(0, 1),
        "keyword_weight": number_range(0, 1),
    },
)

# Lanes partition concurrent conversations; their keys are lane names or
# runtime-specific options, so any block (or list) is accepted.
LANES = Spec("lanes")

LOOP = block(
    {
        "max_iterations": POS_INT,
        "max_cost": POS_NUMBER,
        "max_tokens": POS_INT,
        "timeout_seconds": POS_NUMBER,
        "prompt_file": STRING,
        "plan_file": STRING,
        "progress_file": STRING,
        "learnings_file": STRING,
    }
)

# Fields every agent kind accepts.
AGENT_COMMON: dict[str, Spec] = {
    "provider": STRING,
    "model": STRING,
    "system": STRING,
    "description": STRING,
    "temperature": number_range(0, 2),
    "top_p": number_range(0, 1),
    "skills": refs("skill"),
    "guards": refs("guard", "guardchain"),
    "guardchains": refs("guard", "guardchain"),  # Neam's spec spells it so
    "workspace": STRING,
    "call_timeout_seconds": POS_NUMBER,  # Neam code time per skill, guard or verify call
    "memory": ANY,  # a memory name, or a block of memory options
    # Fields of the wider Neam language that this runtime accepts but ignores
    # (docs/language.md): handoffs, knowledge bases, budgets, environments, ...
    "handoffs": Spec("handoffs"),
    "connected_knowledge": refs("knowledge"),
    "knowledge": refs("knowledge"),
    "requires": ANY,
    "budget": ref_or_value("budget"),
    "policy": ref_or_value("policy"),
    "mode": ANY,  # deprecated in Neam 0.8 (the agent keyword gives the kind)
    "env": ref_or_value("env"),
    "world_model": ref_or_value("world_model"),
    "plan": ref_or_value("plan"),
    "connector": ref_or_value("connector"),
    "tools": refs("skill", "tool"),
    "reasoning": ANY,  # chain_of_thought, plan_and_execute, ...
    "reflect": ANY,
    "learning": ANY,
    "evolve": ANY,
    "goals": ANY,
    "triggers": ANY,
    "initiative": BOOL,
    "retries": Spec("int", minimum=0),
    "max_retries": Spec("int", minimum=0),
    "api_key_env": STRING,
    "base_url": STRING,
    "endpoint": STRING,
    "max_tokens": POS_INT,
    "context_window": POS_INT,
    "timeout_seconds": POS_NUMBER,
    "scripted_file": STRING,
}

AGENT_ONLY: dict[str, dict[str, Spec]] = {
    "agent": {"channels": refs("channel")},
    "claw": {
        "channels": refs("channel"),
        "session": SESSION,
        "semantic_memory": SEMANTIC_MEMORY,
        "lanes": LANES,
    },
    "forge": {"verify": ref("function"), "checkpoint": enum(*CHECKPOINT), "loop": LOOP},
}

AGENT_REQUIRED: dict[str, tuple[str, ...]] = {
    "agent": ("provider", "model"),
    "claw": ("provider", "model"),
    "forge": ("provider", "model", "verify"),
}

AGENT_KIND_NAMES = {"agent": "agent", "claw": "claw agent", "forge": "forge agent"}


def agent_fields(kind: str) -> dict[str, Spec]:
    return AGENT_COMMON | AGENT_ONLY[kind]


def owner_of(field_name: str) -> str | None:
    """The agent kind that owns a kind-specific field (e.g. ``session`` -> ``claw``)."""
    for kind in ("claw", "forge", "agent"):
        if field_name in AGENT_ONLY[kind]:
            return kind
    return None


SKILL_FIELDS: dict[str, Spec] = {
    "description": STRING,
    "params": ANY,  # a block: parameter name -> type name (checked by the checker)
    "sensitive": BOOL,
    "returns": TYPENAME,
    "binding": ANY,  # `extern skill`: how the host provides it, e.g. `builtin { type: ... }`
}

GUARD_FIELDS: dict[str, Spec] = {"description": STRING}
GUARD_HANDLERS = (
    "on_observation",
    "on_action",
    "on_tool_input",
    "on_tool_output",
    "on_tool_call",
    "on_result",
)

CHANNEL_FIELDS: dict[str, Spec] = {"type": STRING}  # other keys are channel options

# Declarations of the wider Neam language written `word Name { ... }`. The
# checker knows their names (so agents can refer to them) and checks the
# references listed here; their other fields are accepted as written and the
# runtime ignores them (docs/language.md).
OTHER_DECLS: dict[str, dict[str, Spec]] = {
    "runner": {
        "entry_agent": Spec("agent"),
        "max_turns": POS_INT,
        "input_guardrails": refs("guard", "guardchain"),
        "output_guardrails": refs("guard", "guardchain"),
    },
    "knowledge": {"chunk_size": POS_INT},
    "budget": {},
    "memory": {},
    "tool": {},
    "env": {},
    "connector": {},
    "world_model": {},
    "plan": {},
    "subagent": {},
    "mcp_server": {},
    "policy": {},
}


@dataclass(frozen=True)
class BuiltinTrait:
    """Methods of a built-in trait: all of ``required``, and at least one of ``one_of``."""

    required: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()

    @property
    def known(self) -> set[str]:
        return {*self.required, *self.one_of, *self.optional}


# Monitorable requires both of its methods; Orchestrable's callbacks are both
# optional (they default to nil in Neam). For the other four the hook names
# vary between Neam versions, so an impl must define at least one of the
# listed hooks.
BUILTIN_TRAITS: dict[str, BuiltinTrait] = {
    "Schedulable": BuiltinTrait(
        one_of=("on_heartbeat", "heartbeat", "on_schedule", "schedule", "cron", "on_cron"),
        optional=("heartbeat_interval",),
    ),
    "Channelable": BuiltinTrait(
        one_of=("on_message", "route", "channels"), optional=("on_connect", "on_disconnect")
    ),
    "Sandboxable": BuiltinTrait(
        one_of=("sandbox_config", "sandbox", "on_violation"), optional=("allowed_paths",)
    ),
    "Monitorable": BuiltinTrait(required=("baseline", "on_anomaly")),
    "Orchestrable": BuiltinTrait(optional=("on_spawn", "on_delegate")),
    "Searchable": BuiltinTrait(
        one_of=("search_config", "search", "on_search"), optional=("on_index",)
    ),
}

# Built-in traits only a claw agent may implement (Neam reports a compile error
# for a forge or plain agent).
CLAW_ONLY_TRAITS = ("Schedulable", "Channelable")
