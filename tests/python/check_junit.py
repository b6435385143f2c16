"""Parse a JUnit XML report with junitparser; print one line per test case: 'SUITE | CASE | RESULT | MESSAGE'."""

import sys

from junitparser import Error, Failure, JUnitXml, Skipped

xml = JUnitXml.fromfile(sys.argv[1])
for suite in xml:
    print(f"suite {suite.name} tests={suite.tests} failures={suite.failures}")
    for case in suite:
        kinds = [type(r).__name__.lower() for r in case.result if isinstance(r, (Failure, Error, Skipped))]
        message = next((r.message for r in case.result if isinstance(r, (Failure, Error))), "")
        print(f"{suite.name} | {case.name} | {','.join(kinds) or 'passed'} | {message}")
