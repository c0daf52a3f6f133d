"""The Java side's probability text (mojoserve.DecimalText) against exact decimals."""

from __future__ import annotations

import math
import random
import shutil
import struct
import subprocess
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest

from serving import javabuild
from tests.fixtures.mojo import extract_genmodel_jar

PROBE_SOURCE = Path(__file__).parent / "java" / "mojoserve" / "DecimalTextProbe.java"
SEVENTEEN_DECIMALS = Decimal(1).scaleb(-17)
CASES = 40_000


def _bits(value: float) -> str:
    return f"{struct.unpack('<Q', struct.pack('<d', value))[0]:x}"


def _cases() -> list[float]:
    generator = random.Random(17)
    edges = [
        0.5,
        0.25,
        0.1,
        0.9,
        1e-17,
        5e-18,
        4.9e-18,
        1 - 1e-17,
        1 - 2**-53,
        2**-53,
        2**-64,
        2**-65,
        2**-74,
        2**-75,
        5e-324,
        2.2250738585072014e-308,
        0.0,
        1.0,
        -0.25,
        1.5,
        float("nan"),
    ]
    uniform = [generator.random() for _ in range(CASES // 2)]
    # Every binary exponent a probability can have, down to the tiniest.
    spread = [
        generator.random() * 2.0 ** -generator.randint(0, 80) for _ in range(CASES // 2)
    ]
    # p * 1e17 ends in exactly .5 for p = odd / 2**18: ties, rounded to even.
    ties = [(2 * generator.randrange(2**17) + 1) / 2**18 for _ in range(500)]
    return edges + uniform + spread + ties


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    if shutil.which("javac") is None:
        pytest.skip("javac is not installed; the scorer itself needs it too")
    work = tmp_path_factory.mktemp("decimal-probe")
    jar = extract_genmodel_jar(work)
    classes = javabuild.ensure_compiled(jar, work / "classes")
    probe_classes = work / "probe"
    subprocess.run(
        ["javac", "-cp", str(classes), "-d", str(probe_classes), str(PROBE_SOURCE)],
        check=True,
        capture_output=True,
    )
    return [str(probe_classes), str(classes)]


def _probe(classpath: list[str], lines: list[str], *args: str) -> list[str]:
    done = subprocess.run(
        ["java", "-cp", ":".join(classpath), "mojoserve.DecimalTextProbe", *args],
        input="\n".join(lines) + "\n",
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.splitlines()


def _written(classpath: list[str], values: list[float]) -> list[str]:
    return _probe(classpath, [_bits(value) for value in values])


def _expected(value: float) -> str | None:
    """0.<digits> rounded half to even at 17 decimals; None: Java's own text."""
    if not 0 < value < 1:
        return None
    rounded = Decimal(value).quantize(SEVENTEEN_DECIMALS, rounding=ROUND_HALF_EVEN)
    if rounded == 0 or rounded == 1:
        return None
    return format(rounded.normalize(), "f")


def test_probabilities_are_rounded_exactly_to_17_decimals(probe: list[str]) -> None:
    values = _cases()

    written = _written(probe, values)

    assert len(written) == len(values)
    for value, sink in zip(values, written, strict=True):
        expected = _expected(value)
        if expected is None:
            # Outside (0, 1) or within 5e-18 of an end: Java's Double.toString.
            assert float(sink) == value or (math.isnan(value) and sink == "NaN")
        else:
            assert sink == expected, (value, sink, expected)


def test_from_a_tenth_up_the_text_reads_back_as_the_same_double(
    probe: list[str],
) -> None:
    generator = random.Random(3)
    values = [0.1 + 0.9 * generator.random() for _ in range(20_000)]

    written = _written(probe, values)

    assert all(
        float(sink) == value for value, sink in zip(values, written, strict=True)
    )


def _decimal_texts() -> list[str]:
    generator = random.Random(5)
    texts = ["0", "-0", "+7", "1.", ".5", "-.25", "007", "123456789012345"]
    for _ in range(20_000):
        whole = str(generator.randrange(10 ** generator.randint(0, 9)))
        fraction = str(generator.randrange(10 ** generator.randint(1, 8)))
        texts.append(f"{generator.choice(['', '-'])}{whole}.{fraction}")
    for _ in range(5_000):
        texts.append(str(generator.uniform(-1e6, 1e6)))
    return texts


def test_plain_decimals_read_exactly_as_the_full_parser_reads_them(
    probe: list[str],
) -> None:
    texts = _decimal_texts()

    answers = _probe(probe, texts, "parse")

    assert len(answers) == len(texts)
    read = [(text, answer) for text, answer in zip(texts, answers, strict=True)]
    assert sum(answer != "-" for _, answer in read) > len(texts) // 2
    for text, answer in read:
        if answer != "-":
            assert answer == _bits(float(text)), text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "-",
        ".",
        "1e5",
        "1E-3",
        " 1",
        "1 ",
        "1,5",
        "NaN",
        "Infinity",
        "0x10",
        "1.2.3",
        "--1",
        "1234567890123456",
        "12345678.12345678",
    ],
)
def test_other_texts_are_left_to_genmodel(probe: list[str], text: str) -> None:
    assert _probe(probe, [text], "parse") == ["-"]
