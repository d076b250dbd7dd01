"""How protected fields look to someone who may not see them."""
from __future__ import annotations


def mask_name(value: str | None) -> str:
    if not value:
        return ""
    return value[0] + "*" * max(len(value) - 1, 1)


def mask_resident_id(value: str | None) -> str:
    if not value:
        return ""
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_phone(value: str | None) -> str:
    if not value:
        return ""
    digits = value.removeprefix("+86")
    return digits[:3] + "****" + digits[-4:]


def mask_everything(value: str | None) -> str:
    return "" if not value else "******"


MASKS = {
    "real_name": mask_name,
    "gender": mask_everything,
    "birth_date": mask_everything,
    "resident_id": mask_resident_id,
    "phone": mask_phone,
    "address": mask_everything,
}


def mask(field: str, value: str | None) -> str:
    return MASKS[field](value)
