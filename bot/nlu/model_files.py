"""JSON a trained component keeps in the model (Rasa's model storage), written at training and read at load."""
from __future__ import annotations

import json
from typing import Any

from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage


def save_json(storage: ModelStorage, resource: Resource, name: str, data: Any) -> Resource:
    with storage.write_to(resource) as directory:
        (directory / name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return resource


def load_json(storage: ModelStorage, resource: Resource, name: str) -> Any:
    with storage.read_from(resource) as directory:
        return json.loads((directory / name).read_text(encoding="utf-8"))
