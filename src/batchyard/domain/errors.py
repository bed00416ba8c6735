"""The wire's error vocabulary: every code batchyard answers with, and its default message.

Codes are the Tencent Cloud API 3.0 common codes plus the Batch product codes of the official
SDK's ``errorcodes.py``. Everything that goes wrong on a request ends as an ``ApiError`` so the API
layer can turn it into the response envelope in one place.
"""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    # Common codes (API 3.0).
    "AuthFailure.InvalidAuthorization": "The Authorization header is not in the Tencent Cloud format.",
    "AuthFailure.InvalidSecretId": "The SecretId is not a cloud API key.",
    "AuthFailure.SecretIdNotFound": "The SecretId does not exist or is disabled.",
    "AuthFailure.SignatureExpire": "The signature has expired: the request time is more than 5 minutes off.",
    "AuthFailure.SignatureFailure": (
        "The provided credentials could not be validated. Please check your signature is correct."
    ),
    "AuthFailure.TokenFailure": "The token is invalid.",
    "AuthFailure.UnauthorizedOperation": "The request is not authorized.",
    "InvalidAction": "The action does not exist.",
    "NoSuchVersion": "The API version does not exist.",
    "MissingParameter": "A required parameter is missing.",
    "UnknownParameter": "An undefined parameter was given.",
    "InvalidParameter": "A parameter has the wrong type or format.",
    "InvalidParameterValue": "A parameter has an invalid value.",
    "InvalidRequest": "The request body is malformed or of an unsupported type.",
    "UnsupportedProtocol": "The HTTP method or protocol is not supported; use GET or POST.",
    "UnsupportedRegion": "The API does not support this region.",
    "RequestSizeLimitExceeded": "The request is too large.",
    "RequestLimitExceeded": "The request rate limit was exceeded.",
    "InternalError": "An internal error occurred.",
    "FailedOperation": "The operation failed.",
    "UnsupportedOperation": "The operation is not supported in the resource's current state.",
    "LimitExceeded": "A quota was exceeded.",
    "ResourceNotFound": "The resource does not exist.",
    "ResourceInUse": "The resource is in use.",
    # Batch product codes.
    "AllowedOneAttributeInEnvIdAndComputeEnv": "Exactly one of EnvId and ComputeEnv must be given.",
    "InvalidFilter": "The filter is invalid.",
    "InvalidParameter.CvmParameters": "Invalid CVM parameters.",
    "InvalidParameter.ComputeNodeIdMalformed": "Invalid compute node ID format.",
    "InvalidParameter.EnvDescriptionTooLong": "The compute environment description is too long.",
    "InvalidParameter.EnvIdMalformed": "Invalid compute environment ID format.",
    "InvalidParameter.EnvNameTooLong": "The compute environment name is too long.",
    "InvalidParameter.ImageIdMalformed": "Invalid image ID format.",
    "InvalidParameter.InvalidParameterCombination": "These parameters cannot be given together.",
    "InvalidParameter.JobDescriptionTooLong": "The job description is too long.",
    "InvalidParameter.JobIdMalformed": "Invalid job ID format.",
    "InvalidParameter.JobNameTooLong": "The job name is too long.",
    "InvalidParameter.NotificationEventNameDuplicate": "A notification lists the same event twice.",
    "InvalidParameter.NotificationTopicName": "Invalid notification topic name.",
    "InvalidParameter.NotificationTopicNameTooLong": "The notification topic name is too long.",
    "InvalidParameter.TaskName": "Invalid task name.",
    "InvalidParameter.TaskNameTooLong": "The task name is too long.",
    "InvalidParameter.TaskTemplateDescriptionTooLong": "The task template description is too long.",
    "InvalidParameter.TaskTemplateIdMalformed": "Invalid task template ID format.",
    "InvalidParameter.TaskTemplateName": "Invalid task template name.",
    "InvalidParameter.TaskTemplateNameTooLong": "The task template name is too long.",
    "InvalidParameterAtLeastOneAttribute": (
        "At least one of TaskTemplateName, TaskTemplateDescription and TaskTemplateInfo must be given."
    ),
    "InvalidParameterValue.ComputeEnv": "Invalid compute environment.",
    "InvalidParameterValue.DependenceNotFoundTaskName": "A dependence names a task that is not in the job.",
    "InvalidParameterValue.DependenceUnfeasible": "The task dependences form a cycle.",
    "InvalidParameterValue.InstanceIdDuplicated": "The same instance ID is given twice.",
    "InvalidParameterValue.InstanceType": "The instance type is not supported.",
    "InvalidParameterValue.InstanceTypeDuplicate": "The same instance type is listed twice.",
    "InvalidParameterValue.InstanceTypesEmpty": "The list of instance types must not be empty.",
    "InvalidParameterValue.InvalidFilter": "The filter is invalid.",
    "InvalidParameterValue.InvalidZoneMismatchRegion": "A zone does not belong to the request's region.",
    "InvalidParameterValue.LimitExceeded": "A parameter exceeds its limit.",
    "InvalidParameterValue.LocalPath": "Invalid local path.",
    "InvalidParameterValue.MaxRetryCount": "MaxRetryCount is out of range.",
    "InvalidParameterValue.Negative": "The value must not be negative.",
    "InvalidParameterValue.RemoteStoragePath": "Invalid remote storage path.",
    "InvalidParameterValue.RemoteStorageSchemeType": "Unsupported remote storage scheme.",
    "InvalidParameterValue.ResourceType": "The resource type is not valid.",
    "InvalidParameterValue.TaskInstanceNum": "TaskInstanceNum is out of range.",
    "InvalidParameterValue.UnavailableZone": "The zone is not available.",
    "InvalidParameterValue.UnsupportedBatchInstanceChargeType": "Batch does not support this charge type.",
    "InvalidZone.MismatchRegion": "The zone does not belong to the request's region.",
    "LimitExceeded.ComputeEnvQuota": "The compute environment quota was exceeded.",
    "LimitExceeded.JobQuota": "The job quota was exceeded.",
    "LimitExceeded.TaskTemplateQuota": "The task template quota was exceeded.",
    "ResourceInUse.Job": "The job is still in use.",
    "ResourceNotFound.ComputeEnv": "The specified compute environment does not exist.",
    "ResourceNotFound.ComputeNode": "The specified compute node does not exist.",
    "ResourceNotFound.Job": "The specified job does not exist.",
    "ResourceNotFound.Task": "The specified task does not exist.",
    "ResourceNotFound.TaskInstance": "The specified task instance does not exist.",
    "ResourceNotFound.TaskTemplate": "The specified task template does not exist.",
    "UnsupportedOperation.ComputeEnvAcceptOtherRequest": (
        "The compute environment is handling another request (such as its deletion)."
    ),
    "UnsupportedOperation.ComputeEnvOperation": "The compute environment cannot be deleted now.",
    "UnsupportedOperation.ComputeNodeForbidTerminate": "The compute node cannot be terminated.",
    "UnsupportedOperation.ComputeNodeIsTerminating": "The compute node is already being terminated.",
    "UnsupportedOperation.InstancesNotAllowToAttach": (
        "The instance cannot be added to the compute environment."
    ),
    "UnsupportedOperation.TerminateOperationWithEnvId": (
        "This operation is not allowed on task instances of a named compute environment."
    ),
}


class ApiError(Exception):
    """A request failed in a way the caller should see as ``Response.Error``."""

    def __init__(self, code: str, message: str | None = None) -> None:
        if code not in MESSAGES:
            raise ValueError(f"unknown error code {code!r}")
        self.code = code
        self.message = message or MESSAGES[code]
        super().__init__(f"{code}: {self.message}")
