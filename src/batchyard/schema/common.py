"""Structures shared by several actions: jobs, task templates and compute environments all carry them.

Members, their order, types and required flags follow tccli's ``api.json`` for Batch 2017-03-12 (the
order matters: it is the order in which ``parse`` reports the first problem). Optional members
default to None rather than to the product default so the service layer can tell "not given" from
"given" and apply the documented default in one place.

Nested types are spelled ``common.X`` through a self-import: members are named after their types
(``Docker: Docker``), and inside a class body an optional member's default ``None`` would shadow the
type of the same name when pydantic and mypy resolve the annotation.
"""

from __future__ import annotations

from batchyard.schema import common
from batchyard.schema.base import ApiModel, Bool, Int64, UInt64


class Placement(ApiModel):
    Zone: str
    ProjectId: Int64 | None = None
    HostIds: list[str] | None = None
    HostId: str | None = None
    DedicatedResourcePackTenancy: str | None = None
    DedicatedResourcePackIds: list[str] | None = None
    RackId: str | None = None


class Tag(ApiModel):
    Key: str
    Value: str


class Filter(ApiModel):
    """Values of one filter are OR-ed; several filters are AND-ed."""

    Name: str
    Values: list[str]


class EnvVar(ApiModel):
    Name: str
    Value: str


class Dependence(ApiModel):
    StartTask: str
    EndTask: str


class RedirectInfo(ApiModel):
    StdoutRedirectPath: str | None = None
    StderrRedirectPath: str | None = None
    StdoutRedirectFileName: str | None = None
    StderrRedirectFileName: str | None = None


class RedirectLocalInfo(ApiModel):
    StdoutLocalPath: str | None = None
    StderrLocalPath: str | None = None
    StdoutLocalFileName: str | None = None
    StderrLocalFileName: str | None = None


class InputMapping(ApiModel):
    SourcePath: str
    DestinationPath: str
    MountOptionParameter: str | None = None
    MountType: str | None = None


class OutputMappingOption(ApiModel):
    Workspace: str | None = None


class OutputMapping(ApiModel):
    SourcePath: str
    DestinationPath: str
    OutputMappingOption: common.OutputMappingOption | None = None


class OutputMappingConfig(ApiModel):
    Scene: str
    WorkerNum: Int64
    WorkerPartSize: Int64


class Authentication(ApiModel):
    Scene: str
    SecretId: str
    SecretKey: str


class Docker(ApiModel):
    Image: str
    User: str | None = None
    Password: str | None = None
    Server: str | None = None
    MaxRetryCount: UInt64 | None = None
    DelayOnRetry: UInt64 | None = None
    DockerRunOption: str | None = None


class CommandLine(ApiModel):
    Command: str


class Application(ApiModel):
    """``DeliveryForm`` is required by the schema but optional here (API_NOTES §4).

    Tencent's own Python SDK sample leaves it out; the service layer defaults it to LOCAL.
    """

    DeliveryForm: str | None = None
    Command: str | None = None
    PackagePath: str | None = None
    Docker: common.Docker | None = None
    Commands: list[common.CommandLine] | None = None


# CVM launch parameters of an anonymous compute environment (``EnvData``). Batch itself only needs
# a few of them; the rest are accepted so that requests written for Tencent validate unchanged.


class SystemDisk(ApiModel):
    DiskType: str | None = None
    DiskId: str | None = None
    DiskSize: Int64 | None = None
    CdcId: str | None = None
    DiskName: str | None = None
    Encrypt: Bool | None = None
    KmsKeyId: str | None = None


class DataDisk(ApiModel):
    DiskSize: Int64
    DiskType: str | None = None
    DiskId: str | None = None
    DeleteWithInstance: Bool | None = None
    SnapshotId: str | None = None
    Encrypt: Bool | None = None
    KmsKeyId: str | None = None
    ThroughputPerformance: Int64 | None = None
    CdcId: str | None = None
    BurstPerformance: Bool | None = None
    DiskName: str | None = None


class VirtualPrivateCloud(ApiModel):
    VpcId: str
    SubnetId: str
    AsVpcGateway: Bool | None = None
    PrivateIpAddresses: list[str] | None = None
    Ipv6AddressCount: UInt64 | None = None


class InternetAccessible(ApiModel):
    InternetChargeType: str | None = None
    InternetMaxBandwidthOut: Int64 | None = None
    PublicIpAssigned: Bool | None = None
    BandwidthPackageId: str | None = None
    InternetServiceProvider: str | None = None
    IPv4AddressType: str | None = None
    IPv6AddressType: str | None = None
    AntiDDoSPackageId: str | None = None


class LoginSettings(ApiModel):
    Password: str | None = None
    KeyIds: list[str] | None = None
    KeepImageLogin: str | None = None


class RunSecurityServiceEnabled(ApiModel):
    Enabled: Bool | None = None


class RunMonitorServiceEnabled(ApiModel):
    Enabled: Bool | None = None


class RunAutomationServiceEnabled(ApiModel):
    Enabled: Bool | None = None


class EnhancedService(ApiModel):
    SecurityService: common.RunSecurityServiceEnabled | None = None
    MonitorService: common.RunMonitorServiceEnabled | None = None
    AutomationService: common.RunAutomationServiceEnabled | None = None


class SpotMarketOptions(ApiModel):
    MaxPrice: str
    SpotInstanceType: str | None = None


class InstanceMarketOptionsRequest(ApiModel):
    SpotOptions: common.SpotMarketOptions
    MarketType: str | None = None


class InstanceTypeOptions(ApiModel):
    CPU: UInt64
    Memory: UInt64
    InstanceCategories: list[str] | None = None


class EnvData(ApiModel):
    InstanceType: str | None = None
    ImageId: str | None = None
    SystemDisk: common.SystemDisk | None = None
    DataDisks: list[common.DataDisk] | None = None
    VirtualPrivateCloud: common.VirtualPrivateCloud | None = None
    InternetAccessible: common.InternetAccessible | None = None
    InstanceName: str | None = None
    LoginSettings: common.LoginSettings | None = None
    SecurityGroupIds: list[str] | None = None
    EnhancedService: common.EnhancedService | None = None
    InstanceChargeType: str | None = None
    InstanceMarketOptions: common.InstanceMarketOptionsRequest | None = None
    InstanceTypes: list[str] | None = None
    InstanceTypeOptions: common.InstanceTypeOptions | None = None
    Zones: list[str] | None = None
    VirtualPrivateClouds: list[common.VirtualPrivateCloud] | None = None


class MountDataDisk(ApiModel):
    LocalPath: str
    FileSystemType: str | None = None


class AgentRunningMode(ApiModel):
    Scene: str
    User: str
    Session: str


class AnonymousComputeEnv(ApiModel):
    EnvType: str | None = None
    EnvData: common.EnvData | None = None
    MountDataDisks: list[common.MountDataDisk] | None = None
    AgentRunningMode: common.AgentRunningMode | None = None


class EventVar(ApiModel):
    Name: str
    Value: str


class EventConfig(ApiModel):
    EventName: str
    EventVars: list[common.EventVar]


class Notification(ApiModel):
    TopicName: str
    EventConfigs: list[common.EventConfig]


class Task(ApiModel):
    """A task as submitted, and as ``DescribeJobSubmitInfo`` and task templates hand it back.

    ``ComputeEnv`` and ``EnvId`` are both optional here; that exactly one is given is a value rule
    (``AllowedOneAttributeInEnvIdAndComputeEnv``) left to the service layer.
    """

    Application: common.Application
    TaskName: str | None = None
    TaskInstanceNum: UInt64 | None = None
    ComputeEnv: common.AnonymousComputeEnv | None = None
    EnvId: str | None = None
    RedirectInfo: common.RedirectInfo | None = None
    RedirectLocalInfo: common.RedirectLocalInfo | None = None
    InputMappings: list[common.InputMapping] | None = None
    OutputMappings: list[common.OutputMapping] | None = None
    OutputMappingConfigs: list[common.OutputMappingConfig] | None = None
    EnvVars: list[common.EnvVar] | None = None
    Authentications: list[common.Authentication] | None = None
    FailedAction: str | None = None
    MaxRetryCount: UInt64 | None = None
    Timeout: UInt64 | None = None
    MaxConcurrentNum: UInt64 | None = None
    RestartComputeNode: Bool | None = None
    ResourceMaxRetryCount: UInt64 | None = None


class Job(ApiModel):
    Tasks: list[common.Task]
    JobName: str | None = None
    JobDescription: str | None = None
    Priority: UInt64 | None = None
    Dependences: list[common.Dependence] | None = None
    Notifications: list[common.Notification] | None = None
    TaskExecutionDependOn: str | None = None
    StateIfCreateCvmFailed: str | None = None
    Tags: list[common.Tag] | None = None
    NotificationTarget: str | None = None
