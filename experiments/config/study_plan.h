// The study as data: which models are trained, which synthetic databases built, and the
// segmentation experiments (PAPER.md, issue 6), each with its run folder name and the
// steps it needs first. `study` runs the steps in this order, skipping finished ones.
//
// Segmentation grid, for translation models M (pix2pix per translate.l1_weights, SPADE
// when translate.with_spade) and N in segment.finetune_cases:
//   seg-clinical              clinical only                   segment.epochs
//   seg-clinical+M            clinical + synthetic from M     segment.epochs_synthetic
//   seg-M                     synthetic only from M           segment.epochs_synthetic
//   seg-M-ft<N>               seg-M fine-tuned on N clinical  segment.epochs_small
//                             (M in segment.finetune_models)
//   seg-clinical-<N>          clinical only, N cases          segment.epochs_small
//   seg-clinical-loss-<L>     clinical only, trained with     segment.epochs
//                             loss L (study.loss_comparison)
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "experiments/config/config.h"

namespace pn::experiments {

struct TranslationModel {
  std::string name;  // "pix2pix10", "pix2pix100", "spade"
  bool spade = false;
  double l1_weight = 0;  // pix2pix only
};
std::vector<TranslationModel> translation_models(const Config& c);

struct SegmentExperiment {
  std::string name;           // run folder name
  std::string title;          // row of the result table
  bool clinical = true;       // trains on clinical volumes
  int64_t clinical_cases = 0; // 0: all of them
  std::string synthetic;      // translation model whose synthetic database it trains on; "" for none
  std::string finetune_from;  // experiment whose final weights it starts from; "" for none
  std::string epochs_key;     // config key holding its epochs
  std::string loss;           // segment.loss for this experiment; "" = the config's
};
std::vector<SegmentExperiment> segmentation_grid(const Config& c);

// A fine-tuned experiment and the experiment it must beat: clinical only on the same number
// of clinical cases, from scratch, with the config's loss (the paper's scarce-data question).
struct MatchedExperiments {
  std::string experiment;  // title of the fine-tuned experiment
  std::string baseline;    // title of its from-scratch baseline
};
// Every such pair of `grid`, in grid order.
std::vector<MatchedExperiments> matched_experiments(const std::vector<SegmentExperiment>& grid);

enum class StepKind { MaskGan, Translate, Synthesize, Segment };
struct StudyStep {
  StepKind kind;
  std::string name;                // run folder name
  std::string model;               // Translate/Synthesize: the translation model; Segment: the experiment
  std::vector<std::string> after;  // steps that must finish first
};
// Every step, each after the steps it needs.
std::vector<StudyStep> study_plan(const Config& c);

}  // namespace pn::experiments
