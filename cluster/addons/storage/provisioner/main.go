// Command hostpath-provisioner is the dynamic provisioner behind the local cluster's
// default StorageClass. For each PersistentVolumeClaim of the class it makes a directory
// under its root on the node and returns a hostPath PersistentVolume pinned to that node;
// when a volume with reclaim policy Delete is released, it removes the directory.
//
// The controller loop (watching claims, binding, retries, events) is the Kubernetes
// SIG Storage provisioner library; this file only decides where the bytes live.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v11/controller"
)

type hostPathProvisioner struct {
	// root is the same path on the node and inside this pod (a hostPath mount),
	// so directories made here are the ones pods later mount.
	root string
}

func (p *hostPathProvisioner) Provision(ctx context.Context, opts controller.ProvisionOptions) (*v1.PersistentVolume, controller.ProvisioningState, error) {
	if opts.SelectedNode == nil {
		return nil, controller.ProvisioningFinished, fmt.Errorf("storage class %s must use volumeBindingMode WaitForFirstConsumer", opts.StorageClass.Name)
	}
	dir := filepath.Join(p.root, fmt.Sprintf("%s_%s_%s", opts.PVC.Namespace, opts.PVC.Name, opts.PVName))
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, controller.ProvisioningFinished, err
	}
	// Pods of any user id may write to the volume, as with kind's local-path.
	if err := os.Chmod(dir, 0o777); err != nil {
		return nil, controller.ProvisioningFinished, err
	}
	reclaim := v1.PersistentVolumeReclaimDelete
	if opts.StorageClass.ReclaimPolicy != nil {
		reclaim = *opts.StorageClass.ReclaimPolicy
	}
	dirType := v1.HostPathDirectoryOrCreate
	pv := &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: opts.PVName},
		Spec: v1.PersistentVolumeSpec{
			PersistentVolumeReclaimPolicy: reclaim,
			AccessModes:                   opts.PVC.Spec.AccessModes,
			VolumeMode:                    opts.PVC.Spec.VolumeMode,
			Capacity: v1.ResourceList{
				v1.ResourceStorage: opts.PVC.Spec.Resources.Requests[v1.ResourceStorage],
			},
			PersistentVolumeSource: v1.PersistentVolumeSource{
				HostPath: &v1.HostPathVolumeSource{Path: dir, Type: &dirType},
			},
			NodeAffinity: &v1.VolumeNodeAffinity{
				Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
					MatchExpressions: []v1.NodeSelectorRequirement{{
						Key:      "kubernetes.io/hostname",
						Operator: v1.NodeSelectorOpIn,
						Values:   []string{opts.SelectedNode.Labels["kubernetes.io/hostname"]},
					}},
				}}},
			},
		},
	}
	klog.InfoS("provisioned", "pv", opts.PVName, "claim", opts.PVC.Namespace+"/"+opts.PVC.Name, "dir", dir)
	return pv, controller.ProvisioningFinished, nil
}

func (p *hostPathProvisioner) Delete(ctx context.Context, pv *v1.PersistentVolume) error {
	if pv.Spec.HostPath == nil {
		return fmt.Errorf("volume %s is not a hostPath volume", pv.Name)
	}
	dir := filepath.Clean(pv.Spec.HostPath.Path)
	// Never delete anything but a direct child of our root.
	if filepath.Dir(dir) != filepath.Clean(p.root) || !strings.HasSuffix(dir, "_"+pv.Name) {
		return fmt.Errorf("refusing to delete %s: not a volume directory under %s", dir, p.root)
	}
	klog.InfoS("deleting", "pv", pv.Name, "dir", dir)
	return os.RemoveAll(dir)
}

func main() {
	name := flag.String("name", "docker2k8s.io/hostpath", "provisioner name, as in the StorageClass")
	root := flag.String("root", "/var/lib/docker2k8s/volumes", "directory holding the volumes (same path on the node)")
	klog.InitFlags(nil)
	flag.Parse()

	config, err := rest.InClusterConfig()
	if err != nil {
		klog.Fatalf("in-cluster config: %v", err)
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		klog.Fatalf("client: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	pc := controller.NewProvisionController(ctx, client, *name, &hostPathProvisioner{root: *root},
		controller.LeaderElection(false))
	klog.InfoS("starting", "provisioner", *name, "root", *root)
	pc.Run(ctx)
}
