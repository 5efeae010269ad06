"""The trade ledger: canonical goods/services tables, real-format loaders, a DuckDB + Parquet store.

    from tradepact.ledger import LedgerStore
    store = LedgerStore.open()                       # $TRADEPACT_STORE or the user data dir
    store.import_files("baci", ["BACI_HS92_Y2015_V202401b.csv"])
    store.goods_bilateral("USA", "KOR")              # year, exports, imports (USD millions)
"""
from tradepact.ledger.schema import GOODS, GRAVITY, SERVICES, TableSchema, validate_frame
from tradepact.ledger.store import FileReport, ImportReport, LedgerStore, default_path

__all__ = ["LedgerStore", "ImportReport", "FileReport", "default_path", "GOODS", "SERVICES", "GRAVITY",
           "TableSchema", "validate_frame"]
