/**
 * File transcription jobs of the server: a bounded list, run one at a time in arrival order,
 * so all uploaded files together are one more client of the shared recognition queue (each
 * job has at most one part in it at a time; see pipeline.ts). A job owns its uploaded file
 * and deletes it when it finishes, fails or is cancelled.
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { Logger } from '../log.js';
import type { FileTranscription } from './conversation.js';
import { DecodeError } from './decode.js';
import type { SpeakerProfile } from '../speaker/types.js';
import type { SavedVoiceRef } from './voices.js';
import { FileJobError, transcribeFile, type FileStages } from './pipeline.js';

export type JobStatus = 'queued' | 'running' | 'done' | 'failed';

/** What `GET /api/transcriptions/:id` returns. */
export interface JobView {
  id: string;
  status: JobStatus;
  /** 0..1 of the whole job. */
  progress: number;
  /** Seconds of processing left, estimated from the speed so far (null until known). */
  eta_s: number | null;
  error?: { code: string; message: string };
  /** Set when done: the conversation holding the result. */
  conversation_id?: string;
  title: string;
  /** Set when done. */
  decoder?: string;
  duration_s?: number;
  speakers?: number;
}

export interface JobRequest {
  /** The uploaded file; the job deletes it. */
  filePath: string;
  title: string;
  language: string;
  speakers: 1 | 2;
  /** Saved voices (already checked) to attribute with instead of clustering. */
  profiles?: [SpeakerProfile, SpeakerProfile];
  /** The saved voices those profiles came from (speaker 0, speaker 1). */
  voices?: [SavedVoiceRef, SavedVoiceRef];
  /** false: the result is not kept in the conversation store (`store=false` on /v1); default true. */
  store?: boolean;
  /** `email`: e-mail the transcript when done (`notify=email`), when e-mail is configured. */
  notify?: 'email';
}

interface Job {
  id: string;
  request: JobRequest;
  status: JobStatus;
  progress: number;
  startedMs: number | null;
  error?: { code: string; message: string };
  result?: FileTranscription;
  /** Id of the stored conversation holding the result (`keep`), else the result's own id. */
  conversationId?: string;
  abort: AbortController;
}

export interface FileJobsOptions {
  stages: FileStages;
  /** Jobs kept (queued, running and finished); the oldest finished are forgotten first. */
  maxJobs: number;
  /** Where the speech spool of a running job goes. */
  tmpDir?: string;
  log?: Logger;
  /**
   * Keeps each finished result (in the conversation store) and gives the id it is kept under;
   * the job is done only once this resolves, so `conversation_id` is listed when reported.
   */
  keep?(result: FileTranscription, request: JobRequest): Promise<string>;
  /** Called once per job that ends done or failed (not cancelled), after its outcome is published. Must not throw. */
  onSettled?(view: JobView, request: JobRequest, result: FileTranscription | null): void;
}

export class FileJobs {
  private readonly jobs = new Map<string, Job>();
  private readonly queue: Job[] = [];
  private running: Promise<void> | null = null;
  private closed = false;
  /** Callers waiting for a job's outcome (`settled`), by job id. */
  private readonly waiters = new Map<string, Array<(view: JobView | null) => void>>();

  constructor(private readonly opts: FileJobsOptions) {}

  /**
   * Resolves with the job's view once it is done or failed, or null when it is unknown or
   * cancelled (or the jobs are closed) first.
   */
  settled(id: string): Promise<JobView | null> {
    const job = this.jobs.get(id);
    if (!job) return Promise.resolve(null);
    if (job.status === 'done' || job.status === 'failed') return Promise.resolve(this.view(job));
    return new Promise((resolve) => {
      const list = this.waiters.get(id) ?? [];
      list.push(resolve);
      this.waiters.set(id, list);
    });
  }

  /** Jobs kept now, by status (for metrics). */
  counts(): Record<JobStatus, number> {
    const out: Record<JobStatus, number> = { queued: 0, running: 0, done: 0, failed: 0 };
    for (const job of this.jobs.values()) out[job.status]++;
    return out;
  }

  private wake(id: string, view: JobView | null): void {
    const list = this.waiters.get(id);
    if (!list) return;
    this.waiters.delete(id);
    for (const resolve of list) resolve(view);
  }

  /** Whether a new job fits (the API refuses the upload otherwise, before reading it). */
  hasRoom(): boolean {
    if (this.closed) return false;
    if (this.jobs.size < this.opts.maxJobs) return true;
    return [...this.jobs.values()].some((j) => j.status === 'done' || j.status === 'failed');
  }

  /** Queues a job for an uploaded file; null when full or closed (the file is then deleted). */
  create(request: JobRequest): JobView | null {
    if (!this.hasRoom()) {
      void rm(request.filePath, { force: true });
      return null;
    }
    if (this.jobs.size >= this.opts.maxJobs) {
      const oldest = [...this.jobs.values()].find((j) => j.status === 'done' || j.status === 'failed');
      if (oldest) this.jobs.delete(oldest.id);
    }
    const job: Job = { id: randomUUID(), request, status: 'queued', progress: 0, startedMs: null, abort: new AbortController() };
    this.jobs.set(job.id, job);
    this.queue.push(job);
    this.running ??= this.drain().finally(() => (this.running = null));
    return this.view(job);
  }

  get(id: string): JobView | null {
    const job = this.jobs.get(id);
    return job ? this.view(job) : null;
  }

  result(id: string): FileTranscription | null {
    return this.jobs.get(id)?.result ?? null;
  }

  /** Cancels a queued or running job, or forgets a finished one. False when unknown. */
  cancel(id: string): boolean {
    const job = this.jobs.get(id);
    if (!job) return false;
    this.jobs.delete(id);
    const at = this.queue.indexOf(job);
    if (at >= 0) {
      this.queue.splice(at, 1);
      void rm(job.request.filePath, { force: true });
    }
    job.abort.abort();
    this.wake(id, null);
    return true;
  }

  /** Cancels everything and waits for the running job to stop. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    for (const id of [...this.jobs.keys()]) this.cancel(id);
    await this.running;
  }

  private view(job: Job): JobView {
    const elapsedS = job.startedMs === null ? 0 : (Date.now() - job.startedMs) / 1000;
    const eta = job.status === 'running' && job.progress > 0.02 ? (elapsedS * (1 - job.progress)) / job.progress : job.status === 'done' ? 0 : null;
    const v: JobView = { id: job.id, status: job.status, progress: Math.round(job.progress * 1000) / 1000, eta_s: eta === null ? null : Math.round(eta), title: job.request.title };
    if (job.error) v.error = job.error;
    if (job.result) {
      v.conversation_id = job.conversationId ?? job.result.conversation.id;
      v.decoder = job.result.decoder;
      v.duration_s = job.result.conversation.duration_s;
      v.speakers = job.result.conversation.speakers.length;
    }
    return v;
  }

  private async drain(): Promise<void> {
    while (this.queue.length && !this.closed) {
      const job = this.queue.shift()!;
      job.status = 'running';
      job.startedMs = Date.now();
      // The outcome is published only after the uploaded file is gone, so a client that sees
      // `done` or `failed` never finds the upload still on disk.
      let finish: () => void;
      try {
        const result = await transcribeFile({ path: job.request.filePath }, this.opts.stages, {
          language: job.request.language,
          speakers: job.request.speakers,
          ...(job.request.profiles ? { enroll: { profiles: job.request.profiles } } : {}),
          title: job.request.title,
          signal: job.abort.signal,
          tmpDir: this.opts.tmpDir,
          onProgress: (p) => (job.progress = p.progress),
        });
        const conversationId = this.opts.keep && job.request.store !== false ? await this.opts.keep(result, job.request) : undefined;
        finish = () => {
          if (conversationId !== undefined) job.conversationId = conversationId;
          job.result = result;
          job.status = 'done';
          job.progress = 1;
        };
      } catch (err) {
        let error: { code: string; message: string };
        if (err instanceof DecodeError || err instanceof FileJobError) error = { code: err.code, message: err.message };
        else {
          this.opts.log?.error(`file job failed: ${(err as Error).stack ?? String(err)}`);
          error = { code: 'internal', message: 'processing failed' };
        }
        finish = () => {
          job.status = 'failed';
          job.error = error;
        };
      }
      await rm(job.request.filePath, { force: true }).catch(() => undefined);
      finish();
      // A job cancelled while it ran is no longer listed: nobody waits for it and nothing is announced.
      if (this.jobs.get(job.id) === job && !job.abort.signal.aborted) {
        const view = this.view(job);
        this.wake(job.id, view);
        try {
          this.opts.onSettled?.(view, job.request, job.result ?? null);
        } catch (err) {
          this.opts.log?.error(`file job listener failed: ${(err as Error).message}`);
        }
      }
    }
  }
}
