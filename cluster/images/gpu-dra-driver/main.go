// Command gpu-dra-driver publishes the real node's simulated GPUs for Dynamic Resource Allocation
// and prepares the ResourceClaims the scheduler allocated from them.
//
// It is the DRA counterpart of the simulated device plugin (src/docker2k8s/gpu): the same GPUs,
// with the same UUIDs, now described by attributes a claim can select on with CEL (productName,
// architecture, index, uuid, and a memory capacity). Preparing a claim writes a CDI spec that sets
// NVIDIA_VISIBLE_DEVICES to the allocated GPUs' UUIDs, as NVIDIA's driver and its container
// toolkit do; containerd 2 applies it when the container starts. The driver name is NVIDIA's own,
// gpu.nvidia.com, so the labs' claims read the same on a cluster with NVIDIA's DRA driver.
package main

import (
	"context"
	"crypto/sha1"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/dynamic-resource-allocation/kubeletplugin"
	"k8s.io/dynamic-resource-allocation/resourceslice"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

const (
	driverName = "gpu.nvidia.com"
	cdiKind    = "k8s.gpu.nvidia.com/claim" // vendor/class of the CDI devices this driver writes
)

// The device plugin's namespace for GPU IDs (src/docker2k8s/gpu/devices.py): both give the
// same GPU the same UUID.
var idNamespace = [16]byte{0x6f, 0x1c, 0x1a, 0x52, 0x4a, 0x0e, 0x5d, 0x2e, 0x9c, 0x43, 0x7d, 0x2b, 0x8e, 0x0b, 0x7a, 0x11}

// gpuUUID is uuid5(idNamespace, "<node>/gpu<i>") in NVIDIA's "GPU-..." form.
func gpuUUID(node string, index int) string {
	h := sha1.New()
	h.Write(idNamespace[:])
	fmt.Fprintf(h, "%s/gpu%d", node, index)
	u := h.Sum(nil)[:16]
	u[6] = (u[6] & 0x0f) | 0x50
	u[8] = (u[8] & 0x3f) | 0x80
	return fmt.Sprintf("GPU-%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

type driver struct {
	node   string
	cdiDir string
	uuids  map[string]string // device name -> GPU UUID
}

func (d *driver) devices(count int, product, family string, memoryMiB int64) []resourceapi.Device {
	devices := make([]resourceapi.Device, 0, count)
	for i := 0; i < count; i++ {
		name := fmt.Sprintf("gpu-%d", i)
		d.uuids[name] = gpuUUID(d.node, i)
		devices = append(devices, resourceapi.Device{
			Name: name,
			Attributes: map[resourceapi.QualifiedName]resourceapi.DeviceAttribute{
				"index":        {IntValue: ptr.To(int64(i))},
				"uuid":         {StringValue: ptr.To(d.uuids[name])},
				"productName":  {StringValue: ptr.To(product)},
				"architecture": {StringValue: ptr.To(family)},
			},
			Capacity: map[resourceapi.QualifiedName]resourceapi.DeviceCapacity{
				"memory": {Value: *resource.NewQuantity(memoryMiB*1024*1024, resource.BinarySI)},
			},
		})
	}
	return devices
}

// cdiSpec is the part of the CDI specification this driver writes: one device per claim.
type cdiSpec struct {
	Version string      `json:"cdiVersion"`
	Kind    string      `json:"kind"`
	Devices []cdiDevice `json:"devices"`
}

type cdiDevice struct {
	Name  string `json:"name"`
	Edits struct {
		Env []string `json:"env"`
	} `json:"containerEdits"`
}

func (d *driver) specPath(claim types.UID) string {
	return filepath.Join(d.cdiDir, fmt.Sprintf("docker2k8s-gpu_%s.json", claim))
}

func (d *driver) PrepareResourceClaims(ctx context.Context, claims []*resourceapi.ResourceClaim) (map[types.UID]kubeletplugin.PrepareResult, error) {
	results := make(map[types.UID]kubeletplugin.PrepareResult, len(claims))
	for _, claim := range claims {
		results[claim.UID] = d.prepare(claim)
	}
	return results, nil
}

func (d *driver) prepare(claim *resourceapi.ResourceClaim) kubeletplugin.PrepareResult {
	if claim.Status.Allocation == nil {
		return kubeletplugin.PrepareResult{Err: fmt.Errorf("claim %s is not allocated", claim.Name)}
	}
	var uuids []string
	var devices []kubeletplugin.Device
	cdiID := fmt.Sprintf("%s=%s", cdiKind, claim.UID)
	for _, result := range claim.Status.Allocation.Devices.Results {
		if result.Driver != driverName || result.Pool != d.node {
			continue
		}
		uuid, ok := d.uuids[result.Device]
		if !ok {
			return kubeletplugin.PrepareResult{Err: fmt.Errorf("no GPU %s on node %s", result.Device, d.node)}
		}
		uuids = append(uuids, uuid)
		devices = append(devices, kubeletplugin.Device{
			Requests:     []string{result.Request},
			PoolName:     result.Pool,
			DeviceName:   result.Device,
			CDIDeviceIDs: []string{cdiID},
		})
	}
	device := cdiDevice{Name: string(claim.UID)}
	device.Edits.Env = []string{"NVIDIA_VISIBLE_DEVICES=" + strings.Join(uuids, ",")}
	spec, _ := json.Marshal(cdiSpec{Version: "0.6.0", Kind: cdiKind, Devices: []cdiDevice{device}})
	if err := os.WriteFile(d.specPath(claim.UID), spec, 0o644); err != nil {
		return kubeletplugin.PrepareResult{Err: fmt.Errorf("writing the CDI spec: %w", err)}
	}
	return kubeletplugin.PrepareResult{Devices: devices}
}

func (d *driver) UnprepareResourceClaims(ctx context.Context, claims []kubeletplugin.NamespacedObject) (map[types.UID]error, error) {
	results := make(map[types.UID]error, len(claims))
	for _, claim := range claims {
		err := os.Remove(d.specPath(claim.UID))
		if os.IsNotExist(err) {
			err = nil
		}
		results[claim.UID] = err
	}
	return results, nil
}

func (d *driver) HandleError(ctx context.Context, err error, msg string) {
	klog.FromContext(ctx).Error(err, msg)
}

func (d *driver) WatchHealthStatus(ctx context.Context, reports chan<- kubeletplugin.DeviceHealthReport) error {
	return kubeletplugin.ErrHealthNotSupported // the health service is off (see run)
}

func main() {
	node := flag.String("node-name", os.Getenv("NODE_NAME"), "the node this driver runs on")
	kubeletRoot := flag.String("kubelet-root", "/var/lib/kubelet", "the kubelet's --root-dir")
	cdiDir := flag.String("cdi-dir", "/var/run/cdi", "where containerd reads CDI specs")
	count := flag.Int("gpus", 8, "how many GPUs the node has (as the device plugin's --gpus)")
	product := flag.String("product", "NVIDIA-A100-SXM4-40GB", "the GPU model")
	family := flag.String("family", "ampere", "the GPU architecture")
	memory := flag.Int64("memory-mib", 40960, "memory of one GPU, MiB")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	logger := klog.Background()
	ctx = klog.NewContext(ctx, logger)

	config, err := rest.InClusterConfig()
	if err == nil {
		var client *kubernetes.Clientset
		client, err = kubernetes.NewForConfig(config)
		if err == nil {
			err = run(ctx, client, *node, *kubeletRoot, *cdiDir, *count, *product, *family, *memory)
		}
	}
	if err != nil {
		logger.Error(err, "gpu-dra-driver stopped")
		os.Exit(1)
	}
}

func run(ctx context.Context, client kubernetes.Interface, node, kubeletRoot, cdiDir string, count int, product, family string, memory int64) error {
	if node == "" {
		return fmt.Errorf("no node name: set --node-name or NODE_NAME")
	}
	d := &driver{node: node, cdiDir: cdiDir, uuids: map[string]string{}}
	devices := d.devices(count, product, family, memory)
	if err := os.MkdirAll(cdiDir, 0o755); err != nil {
		return err
	}
	pluginDir := filepath.Join(kubeletRoot, "plugins", driverName)
	if err := os.MkdirAll(pluginDir, 0o750); err != nil {
		return err
	}
	helper, err := kubeletplugin.Start(ctx, d,
		kubeletplugin.DriverName(driverName),
		kubeletplugin.NodeName(node),
		kubeletplugin.KubeClient(client),
		kubeletplugin.RegistrarDirectoryPath(filepath.Join(kubeletRoot, "plugins_registry")),
		kubeletplugin.PluginDataDirectoryPath(pluginDir),
		kubeletplugin.HealthService(false), // simulated GPUs never fail: nothing to report
	)
	if err != nil {
		return fmt.Errorf("starting the kubelet plugin: %w", err)
	}
	defer helper.Stop()
	resources := resourceslice.DriverResources{
		Pools: map[string]resourceslice.Pool{node: {Slices: []resourceslice.Slice{{Devices: devices}}}},
	}
	if err := helper.PublishResources(ctx, resources); err != nil {
		return fmt.Errorf("publishing the ResourceSlice: %w", err)
	}
	<-ctx.Done()
	return nil
}
