// The pod sandbox ("pause") program of the local cluster, built locally instead of pulled.
module docker2k8s.local/cluster/pause

go 1.24.0
