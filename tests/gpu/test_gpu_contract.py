"""Our .proto must put every field where the kubelet's v1beta1 API has it: that is the wire format.

The table is the published contract (k8s.io/kubelet pkg/apis/deviceplugin/v1beta1/api.proto),
written out by hand so a typo in our .proto cannot agree with itself.
"""

from __future__ import annotations

from google.protobuf.descriptor_pb2 import FieldDescriptorProto as F

from docker2k8s.gpu import api

REPEATED, OPTIONAL = F.LABEL_REPEATED, F.LABEL_OPTIONAL
STRING, BOOL, INT32, INT64, MESSAGE = (
    F.TYPE_STRING,
    F.TYPE_BOOL,
    F.TYPE_INT32,
    F.TYPE_INT64,
    F.TYPE_MESSAGE,
)

UPSTREAM_FIELDS = {
    "DevicePluginOptions": [
        ("pre_start_required", 1, OPTIONAL, BOOL),
        ("get_preferred_allocation_available", 2, OPTIONAL, BOOL),
    ],
    "RegisterRequest": [
        ("version", 1, OPTIONAL, STRING),
        ("endpoint", 2, OPTIONAL, STRING),
        ("resource_name", 3, OPTIONAL, STRING),
        ("options", 4, OPTIONAL, MESSAGE),
    ],
    "Empty": [],
    "ListAndWatchResponse": [("devices", 1, REPEATED, MESSAGE)],
    "TopologyInfo": [("nodes", 1, REPEATED, MESSAGE)],
    "NUMANode": [("ID", 1, OPTIONAL, INT64)],
    "Device": [
        ("ID", 1, OPTIONAL, STRING),
        ("health", 2, OPTIONAL, STRING),
        ("topology", 3, OPTIONAL, MESSAGE),
    ],
    "PreStartContainerRequest": [("devices_ids", 1, REPEATED, STRING)],
    "PreStartContainerResponse": [],
    "PreferredAllocationRequest": [("container_requests", 1, REPEATED, MESSAGE)],
    "ContainerPreferredAllocationRequest": [
        ("available_deviceIDs", 1, REPEATED, STRING),
        ("must_include_deviceIDs", 2, REPEATED, STRING),
        ("allocation_size", 3, OPTIONAL, INT32),
    ],
    "PreferredAllocationResponse": [("container_responses", 1, REPEATED, MESSAGE)],
    "ContainerPreferredAllocationResponse": [("deviceIDs", 1, REPEATED, STRING)],
    "AllocateRequest": [("container_requests", 1, REPEATED, MESSAGE)],
    "ContainerAllocateRequest": [("devices_ids", 1, REPEATED, STRING)],
    "CDIDevice": [("name", 1, OPTIONAL, STRING)],
    "AllocateResponse": [("container_responses", 1, REPEATED, MESSAGE)],
    "ContainerAllocateResponse": [
        ("envs", 1, REPEATED, MESSAGE),  # map<string, string> is a repeated entry message
        ("mounts", 2, REPEATED, MESSAGE),
        ("devices", 3, REPEATED, MESSAGE),
        ("annotations", 4, REPEATED, MESSAGE),
        ("cdi_devices", 5, REPEATED, MESSAGE),
    ],
    "Mount": [
        ("container_path", 1, OPTIONAL, STRING),
        ("host_path", 2, OPTIONAL, STRING),
        ("read_only", 3, OPTIONAL, BOOL),
    ],
    "DeviceSpec": [
        ("container_path", 1, OPTIONAL, STRING),
        ("host_path", 2, OPTIONAL, STRING),
        ("permissions", 3, OPTIONAL, STRING),
    ],
}

UPSTREAM_METHODS = {
    "/v1beta1.Registration/Register": ("RegisterRequest", "Empty", False),
    "/v1beta1.DevicePlugin/GetDevicePluginOptions": ("Empty", "DevicePluginOptions", False),
    "/v1beta1.DevicePlugin/ListAndWatch": ("Empty", "ListAndWatchResponse", True),
    "/v1beta1.DevicePlugin/GetPreferredAllocation": (
        "PreferredAllocationRequest",
        "PreferredAllocationResponse",
        False,
    ),
    "/v1beta1.DevicePlugin/Allocate": ("AllocateRequest", "AllocateResponse", False),
    "/v1beta1.DevicePlugin/PreStartContainer": (
        "PreStartContainerRequest",
        "PreStartContainerResponse",
        False,
    ),
}


def test_messages_match_the_upstream_wire_contract() -> None:
    file_proto = api.load().file_descriptor
    assert file_proto.package == "v1beta1"
    assert file_proto.syntax == "proto3"
    ours = {
        m.name: [(f.name, f.number, f.label, f.type) for f in m.field]
        for m in file_proto.message_type
    }
    assert ours == UPSTREAM_FIELDS


def test_services_match_the_upstream_wire_contract() -> None:
    methods = api.load().methods
    ours = {
        m.path: (m.request.DESCRIPTOR.name, m.response.DESCRIPTOR.name, m.server_streaming)
        for service in methods.values()
        for m in service.values()
    }
    assert ours == UPSTREAM_METHODS


def test_map_fields_are_string_to_string() -> None:
    envs = api.load().ContainerAllocateResponse.DESCRIPTOR.fields_by_name["envs"]
    entry = envs.message_type
    assert entry.GetOptions().map_entry
    assert [(f.name, f.type) for f in entry.fields] == [("key", STRING), ("value", STRING)]
