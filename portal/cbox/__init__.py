"""cBox, the portal's document store. The API is portal/cbox/store.py; names go through names.py."""
