# A package, so a test module here may share its file name with one in another folder
# (tests/test_filters.py and tests/serve/test_filters.py): pytest imports this one as clean.test_filters.
