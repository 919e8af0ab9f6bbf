/** The CKA curriculum domains by id, as learners read them (the server's DOMAINS). */
export const DOMAIN_NAMES: Record<string, string> = {
  'cluster-architecture': 'Cluster Architecture, Installation & Configuration',
  'workloads-scheduling': 'Workloads & Scheduling',
  'services-networking': 'Services & Networking',
  storage: 'Storage',
  troubleshooting: 'Troubleshooting',
};

/** Short names for table headers. */
export const DOMAIN_SHORT: Record<string, string> = {
  'cluster-architecture': 'Architecture',
  'workloads-scheduling': 'Workloads',
  'services-networking': 'Networking',
  storage: 'Storage',
  troubleshooting: 'Troubleshooting',
};
