"""The matrix run imports the cryptography it was built for, not the test venv's.

Run by tests/matrix/crypto.sh, which sets OTLP_TLS_EXPECT_CRYPTOGRAPHY; skipped elsewhere.
"""
import os

import pytest

import cryptography

EXPECTED = os.environ.get('OTLP_TLS_EXPECT_CRYPTOGRAPHY')


@pytest.mark.skipif(not EXPECTED, reason='only in tests/matrix/crypto.sh')
def test_the_matrix_venv_cryptography_is_the_one_imported():
    assert cryptography.__version__ == EXPECTED, (
        'cryptography %s was imported from %s, not %s: the matrix venv lost to the test venv'
        % (cryptography.__version__, cryptography.__file__, EXPECTED))
