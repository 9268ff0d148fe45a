/**
 * Which device whisper.cpp runs on: what the build supports (backends.json) crossed with what
 * the machine has (`nvidia-smi -L`, `vulkaninfo --summary`).
 */
import { execFile } from 'node:child_process';
import type { WhisperBackends } from './whisper-build.js';

export type AsrDeviceChoice = 'auto' | 'cuda' | 'vulkan' | 'cpu';
export type AsrDevice = 'cuda' | 'vulkan' | 'cpu';

/** How to tell whether a GPU of each kind is present. */
export interface DeviceProbe {
  /** Number of NVIDIA GPUs (0 when none or unknown). */
  cudaDevices(): Promise<number>;
  /** True when a Vulkan GPU is present; null when it cannot be told (no vulkaninfo). */
  vulkanGpu(): Promise<boolean | null>;
}

function run(cmd: string, args: string[], timeoutMs = 5000): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout) => resolve(err ? null : stdout));
  });
}

/** Probes with `nvidia-smi -L` and `vulkaninfo --summary`. */
export const systemDeviceProbe: DeviceProbe = {
  async cudaDevices() {
    const out = await run('nvidia-smi', ['-L']);
    return out ? out.split('\n').filter((l) => /^GPU \d+:/.test(l)).length : 0;
  },
  async vulkanGpu() {
    const out = await run('vulkaninfo', ['--summary']);
    if (out === null) return null;
    return /PHYSICAL_DEVICE_TYPE_(DISCRETE|INTEGRATED|VIRTUAL)_GPU/.test(out);
  },
};

export interface DeviceDecision {
  device: AsrDevice;
  /** whisper.cpp's GPU index (`--device`): GPUs are numbered CUDA first, then Vulkan. */
  gpuIndex: number;
  reason: string;
}

/**
 * Picks the device: `auto` takes a GPU the build supports and the machine has (CUDA before
 * Vulkan), else the CPU. An explicit GPU choice that cannot be honoured falls back to the CPU
 * with the reason given, so the server still transcribes.
 */
export async function resolveDevice(choice: AsrDeviceChoice, backends: WhisperBackends, probe: DeviceProbe): Promise<DeviceDecision> {
  if (choice === 'cpu') return { device: 'cpu', gpuIndex: 0, reason: 'ASR_DEVICE=cpu' };
  const cudaCount = backends.cuda ? await probe.cudaDevices() : 0;
  if (choice === 'cuda' || choice === 'auto') {
    if (cudaCount > 0) return { device: 'cuda', gpuIndex: 0, reason: `${cudaCount} NVIDIA GPU(s), CUDA build` };
    if (choice === 'cuda') {
      const why = backends.cuda ? 'no NVIDIA GPU found (nvidia-smi -L)' : 'this whisper.cpp build has no CUDA backend (rebuild with nvcc present, or WHISPER_CUDA=1)';
      return { device: 'cpu', gpuIndex: 0, reason: `ASR_DEVICE=cuda but ${why}: using the CPU` };
    }
  }
  if (backends.vulkan) {
    const vulkan = await probe.vulkanGpu();
    // Without vulkaninfo we cannot tell; whisper.cpp itself falls back to the CPU and says so,
    // which the engine notices in the child's log.
    if (vulkan !== false) {
      return { device: 'vulkan', gpuIndex: cudaCount, reason: vulkan ? 'Vulkan GPU found, Vulkan build' : 'Vulkan build (vulkaninfo absent: assuming a GPU)' };
    }
  }
  if (choice === 'vulkan') {
    const why = backends.vulkan ? 'no Vulkan GPU found (vulkaninfo --summary)' : 'this whisper.cpp build has no Vulkan backend (rebuild with glslc and the Vulkan headers present)';
    return { device: 'cpu', gpuIndex: 0, reason: `ASR_DEVICE=vulkan but ${why}: using the CPU` };
  }
  return { device: 'cpu', gpuIndex: 0, reason: backends.cuda || backends.vulkan ? 'no usable GPU found' : 'CPU-only build' };
}
