"""deploy/: every manifest loads and is what it claims, checked offline."""

import re
from pathlib import Path

import ray
import yaml
from ray.autoscaler._private.util import fillout_defaults, validate_config

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def pinned_ray_version() -> str:
    """The Ray that pyproject.toml pins: what every manifest must run (not whatever Ray this
    machine has, which a new release would change)."""
    ray_pin = re.search(r'"ray\[[a-z,]+\]([^"]*)"', (ROOT / "pyproject.toml").read_text()).group(1)
    assert ray_pin.startswith("=="), f"pyproject must pin Ray exactly, as deploy/ does: {ray_pin}"
    return ray_pin.removeprefix("==")


RAY_VERSION = pinned_ray_version()
RAY_IMAGE = f"rayproject/ray:{RAY_VERSION}"


def test_the_installed_ray_is_the_pinned_one():
    assert ray.__version__ == RAY_VERSION


def documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def containers(pod_template: dict) -> list[dict]:
    return pod_template["spec"]["containers"]


def test_every_yaml_loads():
    paths = sorted(DEPLOY.rglob("*.yaml"))
    assert len(paths) == 4
    for path in paths:
        assert documents(path), path


def check_ray_cluster_spec(spec: dict) -> None:
    assert spec["rayVersion"] == RAY_VERSION
    head = spec["headGroupSpec"]
    assert head["rayStartParams"]["num-gpus"] == "0"
    for container in containers(head["template"]):
        assert "nvidia.com/gpu" not in container["resources"]["limits"]
    gpu_groups = [
        g
        for g in spec["workerGroupSpecs"]
        if all(c["resources"]["limits"].get("nvidia.com/gpu") for c in containers(g["template"]))
    ]
    assert gpu_groups
    for template in [head["template"], *(g["template"] for g in spec["workerGroupSpecs"])]:
        for container in containers(template):
            names = {e["name"] for e in container["env"]}
            assert {"MLFLOW_TRACKING_URI", "NAS_STORAGE_PATH"} <= names


def test_kuberay_raycluster():
    cluster, claim = documents(DEPLOY / "kuberay" / "raycluster.yaml")
    assert (cluster["apiVersion"], cluster["kind"]) == ("ray.io/v1", "RayCluster")
    check_ray_cluster_spec(cluster["spec"])
    assert claim["kind"] == "PersistentVolumeClaim" and claim["spec"]["accessModes"] == ["ReadWriteMany"]


def test_kuberay_rayjob_runs_the_search():
    (job,) = documents(DEPLOY / "kuberay" / "rayjob.yaml")
    assert (job["apiVersion"], job["kind"]) == ("ray.io/v1", "RayJob")
    assert job["spec"]["entrypoint"].startswith("python -m nas_service.run ")
    check_ray_cluster_spec(job["spec"]["rayClusterSpec"])


def test_launcher_passes_rays_own_validation():
    config = yaml.safe_load((DEPLOY / "launcher" / "aws.yaml").read_text())
    validate_config(config)
    validate_config(fillout_defaults(config))
    assert config["available_node_types"][config["head_node_type"]]["resources"]["GPU"] == 0


def test_image_is_the_official_ray_image_of_our_version():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    base = next(line.split()[1] for line in dockerfile.splitlines() if line.startswith("FROM "))
    assert base.startswith(RAY_IMAGE + "-")
    assert "pip install --no-cache-dir ." in dockerfile


def test_mlflow_server_has_a_database_and_an_artifact_store():
    kinds = {(d["kind"], d["metadata"]["name"]): d for d in documents(DEPLOY / "mlflow" / "mlflow.yaml")}
    server = kinds[("Deployment", "mlflow")]
    command = " ".join(containers(server["spec"]["template"])[0]["args"])
    assert "--backend-store-uri postgresql://" in command and "--artifacts-destination" in command
    assert ("Service", "mlflow") in kinds and ("Deployment", "mlflow-postgres") in kinds


def test_deploy_readme_covers_every_path():
    text = (DEPLOY / "README.md").read_text()
    for needle in ("raycluster.yaml", "rayjob.yaml", "ray up", "Dockerfile", "mlflow.yaml", "ray job submit"):
        assert needle in text


def test_no_service_is_exposed_outside_the_cluster():
    """The dashboard runs jobs and MLflow has no login: Services stay ClusterIP."""
    for path in DEPLOY.rglob("*.yaml"):
        for doc in documents(path):
            if doc.get("kind") == "Service":
                assert doc["spec"].get("type", "ClusterIP") == "ClusterIP", path
            spec = doc.get("spec", {})
            for cluster in (spec, spec.get("rayClusterSpec", {})):
                head = cluster.get("headGroupSpec", {}) if isinstance(cluster, dict) else {}
                assert head.get("serviceType", "ClusterIP") == "ClusterIP", path
    readme = (DEPLOY / "README.md").read_text()
    assert "Keep the dashboard and MLflow private" in readme


def test_every_image_tag_is_the_package_version():
    """The image is built from this code: its tag in every manifest and command is the version
    that a search records (nas.version), so a cluster runs what its searches say they ran."""
    from nas_service import __version__

    tags = {
        (str(path.relative_to(ROOT)), tag)
        for path in sorted((ROOT / "deploy").rglob("*"))
        if path.is_file()
        for tag in re.findall(r"stagewise-nas:([0-9][\w.]*)", path.read_text())
    }
    assert tags and {tag for _, tag in tags} == {__version__}, tags
