"""The README's Python examples run as written, and its set-up commands are the ones CI runs."""

import re
from pathlib import Path

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_python_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})


def test_readme_opens_with_the_two_set_up_commands():
    bash = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
    main_job, tests = bash[0].strip(), bash[1].strip()
    assert main_job.startswith("python3 -m venv") and "pip install torch==2.13.0" in main_job
    assert main_job.endswith("counterpoise compare")
    assert "pip install torch==2.13.0" in tests and "&& pytest" in tests
    assert tests.endswith("mkdocs build --strict")
    assert README.index(main_job) < README.index("## ")  # before any section
