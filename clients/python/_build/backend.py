"""A PEP 517 build backend with the standard library only: builds the wheel (and sdist) of
capstan-client without fetching setuptools, so the package installs on machines without PyPI."""
import base64
import hashlib
import io
import os
import tarfile
import zipfile

NAME = "capstan_client"
VERSION = "0.1.0"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
METADATA = f"""Metadata-Version: 2.1
Name: capstan-client
Version: {VERSION}
Summary: Python client for Capstan: experiment tracking, model registry and endpoint invocation
License: Apache-2.0
Requires-Python: >=3.8
"""
WHEEL = "Wheel-Version: 1.0\nGenerator: capstan-client-backend\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def _package_files():
    base = os.path.join(ROOT, "capstan")
    for name in sorted(os.listdir(base)):
        if name.endswith(".py"):
            yield f"capstan/{name}", os.path.join(base, name)


def _digest(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    info = f"{NAME}-{VERSION}.dist-info"
    os.makedirs(os.path.join(metadata_directory, info), exist_ok=True)
    with open(os.path.join(metadata_directory, info, "METADATA"), "w") as f:
        f.write(METADATA)
    with open(os.path.join(metadata_directory, info, "WHEEL"), "w") as f:
        f.write(WHEEL)
    return info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    filename = f"{NAME}-{VERSION}-py3-none-any.whl"
    info = f"{NAME}-{VERSION}.dist-info"
    records = []
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w", zipfile.ZIP_DEFLATED) as whl:
        def add(arcname, data):
            whl.writestr(arcname, data)
            records.append(f"{arcname},{_digest(data)},{len(data)}")
        for arcname, path in _package_files():
            with open(path, "rb") as f:
                add(arcname, f.read())
        add(f"{info}/METADATA", METADATA.encode())
        add(f"{info}/WHEEL", WHEEL.encode())
        records.append(f"{info}/RECORD,,")
        whl.writestr(f"{info}/RECORD", "\n".join(records) + "\n")
    return filename


def build_sdist(sdist_directory, config_settings=None):
    base = f"capstan-client-{VERSION}"
    filename = f"{base}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz") as tar:
        for rel in ["pyproject.toml", "README.md", "_build/backend.py"] + [a for a, _ in _package_files()]:
            tar.add(os.path.join(ROOT, rel), arcname=f"{base}/{rel}")
        data = METADATA.encode()
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return filename
