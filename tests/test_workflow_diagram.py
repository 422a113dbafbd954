"""The README's workflow diagram is drawn from the state machine itself and must not fall behind it."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("workflow_diagram", ROOT / "scripts" / "workflow_diagram.py")
diagram = importlib.util.module_from_spec(spec)
spec.loader.exec_module(diagram)


def test_the_readme_diagram_is_the_one_drawn_from_the_asl():
    drawn = diagram.readme_block(diagram.mermaid(diagram.load()))
    assert diagram.current_readme_block() == drawn, "run: .venv/bin/python scripts/workflow_diagram.py --write"


def test_every_state_and_every_transition_of_the_asl_is_drawn():
    definition = diagram.load()
    drawn = diagram.mermaid(definition)
    for name, state in definition["States"].items():
        assert f"    {name}" in drawn, name
        for target in [state.get("Next"), state.get("Default"), *[c["Next"] for c in state.get("Choices", []) + state.get("Catch", [])]]:
            if target:
                assert f"| {target}" in drawn or f"--> {target}" in drawn, (name, target)
    assert 'PollTrust -.->|"TrustPending: retry"| PollTrust' in drawn
