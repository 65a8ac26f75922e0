// Values both cgroup versions write the same way, checked before any write.

/** "2MB" → "2MB" after checking the form the kernel names its files by (64KB, 2MB, 1GB, ...). */
export function hugepageSize(pageSize: string, field: string): string {
  if (!/^[1-9]\d*[KMG]B$/.test(pageSize)) throw new Error(`${field}.pageSize: "${pageSize}" is not a page size such as 2MB or 1GB`);
  return pageSize;
}

/** rdma.max's line for a device: only the limits given (the kernel keeps the others). */
export function rdmaLine(dev: string, l: { hcaHandles?: number; hcaObjects?: number }): string {
  if (!/^[^\s=]+$/.test(dev)) throw new Error(`linux.resources.rdma: "${dev}" is not a device name`);
  const parts = [dev];
  if (l.hcaHandles !== undefined) parts.push(`hca_handle=${l.hcaHandles}`);
  if (l.hcaObjects !== undefined) parts.push(`hca_object=${l.hcaObjects}`);
  if (parts.length === 1) throw new Error(`linux.resources.rdma.${dev}: gives neither hcaHandles nor hcaObjects`);
  return parts.join(' ');
}
