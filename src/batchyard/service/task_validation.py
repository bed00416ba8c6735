"""Turning one requested task into a ``TaskSpec``, refusing what batchyard cannot honour.

Everything here runs before anything is stored. Features that would change what a task does
(mappings, packages, containers) are refused with a clear message until they are implemented, rather
than silently ignored; CVM details that only describe the virtual machine (image, disks, network)
are accepted and have no effect on a local node. A task names a compute environment either inline
(``ComputeEnv``) or by ``EnvId``; the caller resolves env ids to instance types beforehand, as only
it can read the store.

SubmitJob and the task templates check a task with the same functions (``task_name``, then
``check_task``), so a template is refused exactly where a job with that task would be.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from batchyard.config.catalog import InstanceType
from batchyard.domain.errors import ApiError
from batchyard.domain.ids import ENV_ID
from batchyard.domain.redirect import log_file_name
from batchyard.domain.task_spec import TaskSpec
from batchyard.schema.common import Application, RedirectInfo, RedirectLocalInfo, Task
from batchyard.service import limits
from batchyard.service import mapping_validation as mappings
from batchyard.service.env_validation import (
    catalog_type,
    check_cvm_fields,
    check_data_zones,
    check_env_type,
    refuse_not_yet,
    requested_types,
)
from batchyard.storage.paths import check_file_name

# Members whose effect is not implemented yet.
NOT_YET: Final = ("Authentications",)


def task_name(name: str | None, where: str) -> str:
    """A task's name, which it must have: dependences and log file names refer to it."""
    if not name:
        raise ApiError("MissingParameter", f"The request is missing a required parameter `{where}`.")
    return check_task_name(name, where)


def check_task_name(name: str, where: str) -> str:
    if len(name) > limits.TASK_NAME_MAX:
        raise ApiError(
            "InvalidParameter.TaskNameTooLong",
            f"`{where}` must be at most {limits.TASK_NAME_MAX} characters.",
        )
    if not limits.TASK_NAME.fullmatch(name):
        raise ApiError("InvalidParameter.TaskName", f"`{where}` may hold only letters, digits, '_' and '-'.")
    return name


def check_task(
    task: Task,
    where: str,
    zones: Mapping[str, list[str]],
    region: str,
    instance_types: Mapping[str, InstanceType],
    env_types: Mapping[str, str],
    sandboxed: bool = False,
) -> tuple[int, TaskSpec]:
    """Every rule of one named task that needs nothing of a job around it, in the order they are
    reported; returns its instance count and spec. ``region``: the caller's, which ``EnvData.Zones``
    must lie in."""
    data = task.ComputeEnv.EnvData if task.ComputeEnv else None
    check_data_zones(zones, region, data, f"{where}.ComputeEnv")
    num = instance_num(task.TaskInstanceNum, f"{where}.TaskInstanceNum")
    return num, task_spec(task, where, instance_types, env_types, sandboxed)


def instance_num(value: int | None, where: str) -> int:
    num = 1 if value is None else value
    if not 1 <= num <= limits.TASK_INSTANCE_NUM_MAX:
        raise ApiError(
            "InvalidParameterValue.TaskInstanceNum", f"`{where}` must be 1..{limits.TASK_INSTANCE_NUM_MAX}."
        )
    return num


def task_spec(
    task: Task,
    where: str,
    instance_types: Mapping[str, InstanceType],
    env_types: Mapping[str, str],
    sandboxed: bool = False,
) -> TaskSpec:
    """``env_types``: the instance type of each named environment the caller may run tasks in;
    ``sandboxed``: whether attempts run in a sandbox, which absolute mapping paths need."""
    refuse_not_yet(task, NOT_YET, where)
    kind = _instance_type(task, where, instance_types, env_types)
    redirect = task.RedirectInfo or RedirectInfo()
    stdout = _redirect(task, redirect.StdoutRedirectPath, redirect.StdoutRedirectFileName, "stdout", where)
    stderr = _redirect(task, redirect.StderrRedirectPath, redirect.StderrRedirectFileName, "stderr", where)
    local_out, local_err = _local_logs(task, where, sandboxed)
    return TaskSpec(
        command=_command(task.Application, f"{where}.Application"),
        env=_env(task, where),
        instance_type=kind[0],
        cpu=kind[1].cpu,
        memory_gib=kind[1].memory_gib,
        gpu=kind[1].gpu,
        stdout_path=stdout[0],
        stderr_path=stderr[0],
        stdout_name=stdout[1],
        stderr_name=stderr[1],
        stdout_local_path=local_out[0],
        stdout_local_name=local_out[1],
        stderr_local_path=local_err[0],
        stderr_local_name=local_err[1],
        max_retry=_max_retry(task.MaxRetryCount),
        timeout=_timeout(task.Timeout, where),
        failed_action=_failed_action(task.FailedAction, where),
        max_concurrent=task.MaxConcurrentNum or None,
        inputs=mappings.inputs(task.InputMappings, where, sandboxed),
        outputs=mappings.outputs(task.OutputMappings, where, sandboxed),
        package=mappings.package(task.Application, f"{where}.Application"),
    )


def _command(app: Application, where: str) -> str:
    form = app.DeliveryForm or "LOCAL"
    if form not in ("LOCAL", "PACKAGE"):
        raise ApiError("InvalidParameterValue", f"`{where}.DeliveryForm` must be LOCAL or PACKAGE.")
    if app.Docker is not None:
        raise ApiError("InvalidParameterValue", f"`{where}.Docker` is not supported by this server yet.")
    if bool(app.Command) == bool(app.Commands):
        raise ApiError(
            "InvalidParameter.InvalidParameterCombination",
            f"`{where}` needs exactly one of Command and Commands.",
        )
    command = app.Command or _sequence([c.Command for c in app.Commands or []])
    if len(command.encode()) > limits.COMMAND_MAX_BYTES:
        raise ApiError(
            "InvalidParameterValue",
            f"`{where}` holds a command of more than {limits.COMMAND_MAX_BYTES} bytes; "
            "put a longer script in a package or an input.",
        )
    return command


def _sequence(commands: list[str]) -> str:
    """``Commands`` run in order in one attempt, each in its own subshell, stopping at the first failure."""
    return " && ".join(f"(\n{command}\n)" for command in commands)


def _env(task: Task, where: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for i, var in enumerate(task.EnvVars or []):
        if not limits.ENV_VAR_NAME.fullmatch(var.Name):
            raise ApiError(
                "InvalidParameterValue", f"`{where}.EnvVars.{i}.Name` is not a valid variable name."
            )
        pairs.append((var.Name, var.Value))
    if sum(len(name.encode()) + len(value.encode()) + 2 for name, value in pairs) > limits.ENV_VARS_MAX_BYTES:
        raise ApiError(
            "InvalidParameterValue", f"`{where}.EnvVars` hold more than {limits.ENV_VARS_MAX_BYTES} bytes."
        )
    return tuple(pairs)


def _instance_type(
    task: Task, where: str, instance_types: Mapping[str, InstanceType], env_types: Mapping[str, str]
) -> tuple[str, InstanceType]:
    if task.EnvId is not None and task.ComputeEnv is None:
        return _named_env_type(task.EnvId, where, instance_types, env_types)
    if task.ComputeEnv is None or task.EnvId is not None:
        raise ApiError(
            "AllowedOneAttributeInEnvIdAndComputeEnv", f"`{where}` needs exactly one of EnvId and ComputeEnv."
        )
    env_where = f"{where}.ComputeEnv"
    check_cvm_fields(task.ComputeEnv.EnvData, env_where)
    check_env_type(task.ComputeEnv.EnvType, env_where)
    name = requested_types(task.ComputeEnv.EnvData, env_where)[0]  # the others are fallbacks
    return name, catalog_type(name, instance_types)


def _named_env_type(
    env_id: str, where: str, instance_types: Mapping[str, InstanceType], env_types: Mapping[str, str]
) -> tuple[str, InstanceType]:
    if not ENV_ID.fullmatch(env_id):
        raise ApiError("InvalidParameter.EnvIdMalformed", f"`{where}.EnvId` `{env_id}` is malformed.")
    name = env_types.get(env_id)
    if name is None:
        raise ApiError("ResourceNotFound.ComputeEnv", f"The compute environment `{env_id}` does not exist.")
    return name, catalog_type(name, instance_types)


LocalLog = tuple[str | None, str | None]  # RedirectLocalInfo's folder and file name, or neither


def _local_redirect(task: Task, stream: str, where: str, sandboxed: bool) -> LocalLog:
    """RedirectLocalInfo's folder and file name template for one log: a file the sandbox shows the
    command at that absolute path, so it follows the rules of an absolute mapping path."""
    info = task.RedirectLocalInfo or RedirectLocalInfo()
    label = stream.capitalize()
    path, name = getattr(info, f"{label}LocalPath"), getattr(info, f"{label}LocalFileName")
    at = f"{where}.RedirectLocalInfo.{label}Local"
    if name:
        _local_file_name(name, f"{at}FileName")
    if not path:
        if name:
            raise ApiError("InvalidParameterValue.LocalPath", f"`{at}FileName` needs `{at}Path`.")
        return None, None
    if not path.startswith("/"):
        raise ApiError("InvalidParameterValue.LocalPath", f"`{at}Path` must be absolute.")
    folder = mappings.local_path(path, f"{at}Path", sandboxed)
    longest = log_file_name(
        name, stream, "job-00000000", task.TaskName or "", max(0, (task.TaskInstanceNum or 1) - 1)
    )
    _local_file_name(longest, f"{at}FileName, once expanded,")
    return folder, name or None


def _local_file_name(name: str, where: str) -> None:
    """A file name as object names are checked, under the code for local paths."""
    try:
        check_file_name(name, where)
    except ApiError as exc:
        raise ApiError("InvalidParameterValue.LocalPath", exc.message) from None


def _local_logs(task: Task, where: str, sandboxed: bool) -> tuple[LocalLog, LocalLog]:
    """Both logs' local places (stdout's, stderr's); one file cannot be both."""
    stdout = _local_redirect(task, "stdout", where, sandboxed)
    stderr = _local_redirect(task, "stderr", where, sandboxed)
    if stdout[0] is not None and stdout == stderr:
        raise ApiError(
            "InvalidParameterValue.LocalPath",
            f"`{where}.RedirectLocalInfo` names the same file for stdout and stderr.",
        )
    return stdout, stderr


def _redirect(
    task: Task, path: str | None, name: str | None, stream: str, where: str
) -> tuple[str | None, str | None]:
    """A log's directory and file name template, checked as the longest object key they can make."""
    label = stream.capitalize()
    if name:
        check_file_name(name, f"{where}.RedirectInfo.{label}RedirectFileName")
    if not path:
        return None, name or None
    path_where = f"{where}.RedirectInfo.{label}RedirectPath"
    mappings.check_remote(path, path_where, directory=True)
    longest = log_file_name(
        name, stream, "job-00000000", task.TaskName or "", max(0, (task.TaskInstanceNum or 1) - 1)
    )
    check_file_name(longest, f"{where}.RedirectInfo.{label}RedirectFileName, once expanded,")
    mappings.check_remote(path + longest, f"{path_where} with its file name", directory=False)
    return path, name or None


def _max_retry(value: int | None) -> int:
    if value is not None and value > limits.MAX_RETRY_COUNT_MAX:
        raise ApiError(
            "InvalidParameterValue.MaxRetryCount",
            f"MaxRetryCount must be at most {limits.MAX_RETRY_COUNT_MAX}.",
        )
    return value or 0


def _timeout(value: int | None, where: str) -> int:
    if value is None:
        return limits.TIMEOUT_DEFAULT
    if not 0 < value <= limits.TIMEOUT_MAX:
        raise ApiError("InvalidParameterValue", f"`{where}.Timeout` must be 1..{limits.TIMEOUT_MAX} seconds.")
    return value


def _failed_action(value: str | None, where: str) -> str:
    if value is not None and value not in limits.FAILED_ACTIONS:
        raise ApiError(
            "InvalidParameterValue",
            f"`{where}.FailedAction` must be one of {', '.join(limits.FAILED_ACTIONS)}.",
        )
    return value or "TERMINATE"
