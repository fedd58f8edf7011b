"""`python tests/dags/run_dag.py DAG_ID LOGICAL_DATE [CONF_JSON]`: one real DAG run with dag.test(), as JSON.

Run in a subprocess with the Airflow environment of the tests (devstack.airflow.airflow_env), so the
pytest process never imports Airflow configured for something else. Prints the run's state and the
state of every task instance on the last line of stdout.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime


def main(argv: list[str]) -> int:
    dag_id, logical_date = argv[0], datetime.fromisoformat(argv[1])
    conf = json.loads(argv[2]) if len(argv) > 2 else None
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        print(json.dumps({"import_errors": bag.import_errors}))
        return 2
    run = bag.dags[dag_id].test(logical_date=logical_date, run_conf=conf)
    tis = sorted(
        ({"task_id": ti.task_id, "map_index": ti.map_index, "state": str(ti.state)} for ti in run.get_task_instances()),
        key=lambda ti: (ti["task_id"], ti["map_index"]),
    )
    print(
        json.dumps(
            {
                "dag_id": dag_id,
                "run_id": run.run_id,
                "state": str(run.state),
                "task_instances": tis,
                "asset_events": _asset_events(dag_id, run.run_id),
            }
        )
    )
    return 0


def _asset_events(dag_id: str, run_id: str) -> list[dict[str, object]]:
    """The asset events the run emitted, read back from the metadata database."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.settings import Session
    from sqlalchemy import select

    with Session() as session:
        rows = session.execute(
            select(AssetModel.uri, AssetEvent.extra)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetEvent.source_dag_id == dag_id, AssetEvent.source_run_id == run_id)
        ).all()
    return [{"uri": uri, "extra": extra} for uri, extra in rows]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
