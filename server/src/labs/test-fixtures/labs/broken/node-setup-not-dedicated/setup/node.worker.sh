systemctl stop kubelet
