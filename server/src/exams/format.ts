import { z } from 'zod';
import { ClusterShape, EXAM_KUBERNETES_VERSION } from '../labs/format.ts';

// exams/<id>/exam.yaml: an exam is a composition of existing labs, not a second lab format. It names
// clusters (each a lab cluster shape) and an ordered list of tasks, each a lab (or one task of it)
// placed on one of those clusters with a weight.

const slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]*[a-z0-9]$/, 'must be lowercase letters, digits and "-" (like k8s-c1)')
  .max(40);

/** One named cluster of the exam: its name is the kubeconfig context the learner switches to. */
export const ExamClusterDecl = ClusterShape.extend({
  name: slug.describe('the kubeconfig context name learners use: kubectl config use-context <name>'),
}).strict();
export type ExamClusterDecl = z.infer<typeof ExamClusterDecl>;

/** One exam task: a lab (all its tasks) or one task of it, on a named cluster, with its weight. */
export const ExamTaskDecl = z
  .object({
    lab: slug.max(60).describe('id of the lab whose setup, text, checks and solution the task uses'),
    task: slug.max(60).optional().describe('one task of the lab; without it the whole lab is one exam task'),
    cluster: slug.describe('name of the cluster (context) the task runs on'),
    weight: z.number().int().min(1).max(100).describe('points of this task in the exam (the real exam weights tasks 2–13 %)'),
  })
  .strict();
export type ExamTaskDecl = z.infer<typeof ExamTaskDecl>;

export const ExamDecl = z
  .object({
    title: z.string().min(3).max(100),
    summary: z.string().min(10).max(400),
    minutes: z.number().int().min(5).max(240).describe('the countdown; the real CKA gives 120 minutes'),
    passPercent: z.number().int().min(1).max(100).default(66).describe('the pass mark (the CKA: 66 %)'),
    kubernetes: z
      .string()
      .regex(/^1\.\d{2}$/, 'must be a Kubernetes minor version like "1.35" (quote it in YAML)')
      .default(EXAM_KUBERNETES_VERSION),
    clusters: z.array(ExamClusterDecl).min(1, 'an exam needs at least one cluster').max(6, 'at most 6 clusters per exam'),
    tasks: z.array(ExamTaskDecl).min(1, 'an exam needs at least one task').max(40),
  })
  .strict();
export type ExamDecl = z.infer<typeof ExamDecl>;
