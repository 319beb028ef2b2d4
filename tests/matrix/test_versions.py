"""A matrix cell imports the version it was made for, not the test venv's.

Run by tests/matrix/cells.sh, which sets OTLP_TLS_EXPECT_PACKAGE (cryptography or ansible-core)
and OTLP_TLS_EXPECT_VERSION; skipped elsewhere.
"""
import os

import pytest

PACKAGE = os.environ.get('OTLP_TLS_EXPECT_PACKAGE')
EXPECTED = os.environ.get('OTLP_TLS_EXPECT_VERSION')


@pytest.mark.skipif(not EXPECTED, reason='only in tests/matrix/cells.sh')
def test_the_matrix_cell_imports_its_own_version():
    if PACKAGE == 'cryptography':
        import cryptography as module
        found = module.__version__
    else:
        import ansible.release as module
        found = module.__version__
    assert found == EXPECTED, (
        '%s %s was imported from %s, not %s: the matrix venv lost to the test venv'
        % (PACKAGE, found, module.__file__, EXPECTED))
