// Run folders: creation and resumption rules, the stdout log, append-safe metrics CSVs and
// the checkpoint folder.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>

#include "experiments/run/checkpoint_dir.h"
#include "experiments/config/config_presets.h"
#include "experiments/run/csv_table.h"
#include "experiments/run/run_dir.h"
#include "experiments/run/run_threads.h"
#include "experiments/run/stdout_tee.h"
#include "nn/layers.h"
#include "tests/experiments/error_text.h"
#include "tests/experiments/resume_check.h"

using namespace pn;
using namespace pn::experiments;
namespace fs = std::filesystem;
using pn::test::scratch_dir;

namespace {
using pn::test::file_text;
}  // namespace

TEST_CASE("run folder: created under run.root with the resolved config") {
  auto root = scratch_dir("rundir-create");
  Config c = load_preset("small");
  c.set("run.root=" + root.string());
  RunDir r = RunDir::open(c, "segment-clinical");
  CHECK(r.path() == root / "segment-clinical");
  CHECK_FALSE(r.resuming());
  CHECK(Config::from_toml(file_text(r.config_path()), "saved") == c);
  c.set("run.name=mine");
  CHECK(RunDir::open(c, "segment-clinical").path() == root / "mine");
  CHECK(RunDir::open(c, "x", {(root / "elsewhere").string(), false, {}}).path() == root / "elsewhere");
  CHECK(fs::exists(root / "elsewhere" / "config.toml"));
}

TEST_CASE("run folder: resumes with the same config, refuses a different one, restarts on request") {
  auto root = scratch_dir("rundir-resume");
  Config c = load_preset("small");
  c.set("run.root=" + root.string());
  RunDir first = RunDir::open(c, "r");
  std::ofstream(first.file("metrics.csv")) << "epoch\n1\n";
  CHECK_FALSE(first.done());
  first.mark_done("best 0.5");
  CHECK(first.done());

  Config c2 = c;
  c2.set("run.threads=8");  // how it runs may change
  RunDir again = RunDir::open(c2, "r");
  CHECK(again.resuming());
  CHECK(again.done());
  CHECK(Config::from_toml(file_text(again.config_path()), "saved").integer("run.threads") == 8);

  Config c3 = c;
  c3.set("segment.epochs=99");
  c3.set("run.seed=7");  // the seed is part of what a run is
  const std::string epochs_diff = fmt::format("segment.epochs: this run {}, now 99", c.integer("segment.epochs"));
  CHECK_ERROR_HAS(RunDir::open(c3, "r"), "holds a run with a different config", epochs_diff.c_str(),
                  "run.seed: this run 1, now 7", "--restart");
  RunDir fresh = RunDir::open(c3, "r", {"", true, {}});
  CHECK_FALSE(fresh.resuming());
  CHECK_FALSE(fresh.done());
  CHECK_FALSE(fs::exists(fresh.file("metrics.csv")));
  CHECK(Config::from_toml(file_text(fresh.config_path()), "saved").integer("segment.epochs") == 99);
}

TEST_CASE("run folder: a run whose config holds an empty array resumes (the saved file is read against the config)") {
  auto root = scratch_dir("rundir-empty-array");
  Config c = load_preset("small");
  c.set("run.root=" + root.string());
  c.set("study.loss_comparison=[]");
  RunDir::open(c, "r");
  CHECK(RunDir::open(c, "r").resuming());
  CHECK(Config::from_toml(file_text(RunDir::open(c, "r").config_path()), "saved", &c) == c);
}

TEST_CASE("run folder: a run saved before a key existed resumes as if it had paper.toml's value") {
  auto root = scratch_dir("rundir-new-key");
  Config c = load_preset("small");
  c.set("run.root=" + root.string());
  RunDir first = RunDir::open(c, "r");
  // The saved config as an older program wrote it: without maskgan.temperature.
  std::string text = file_text(first.config_path());
  const size_t at = text.find("temperature = ");
  REQUIRE(at != std::string::npos);
  text.erase(at, text.find('\n', at) + 1 - at);
  std::ofstream(first.config_path()) << text;
  CHECK(RunDir::open(c, "r").resuming());  // now 1.0 = paper's value: the old behaviour
  std::ofstream(first.config_path()) << text;
  c.set("maskgan.temperature=2");
  CHECK_ERROR_HAS(RunDir::open(c, "r"), "holds a run with a different config", "maskgan.temperature: this run 1.0, now 2.0");
}

TEST_CASE("run folder: a non-empty folder without a run is never used") {
  auto root = scratch_dir("rundir-foreign");
  std::ofstream(root / "precious.txt") << "keep me";
  Config c = load_preset("small");
  CHECK_ERROR_HAS(RunDir::open(c, "x", {root.string(), false, {}}), "holds no run", "choose another --out");
  CHECK_ERROR_HAS(RunDir::open(c, "x", {root.string(), true, {}}), "holds no run");
  CHECK(file_text(root / "precious.txt") == "keep me");
  CHECK_ERROR_HAS(RunDir::open(c, "x", {(root / "precious.txt").string(), false, {}}), "is not a folder");
}

TEST_CASE("stdout tee: printf, iostream and fmt reach the log; appends across runs") {
  auto dir = scratch_dir("tee");
  const auto log = (dir / "log.txt").string();
  {
    StdoutTee tee(log);
    std::printf("line one %d\n", 1);
    std::cout << "line two" << std::endl;
    fmt::print("line three\n");
    std::printf("no newline at the end");
    CHECK_ERROR_HAS(StdoutTee second(log), "already mirrored");
  }
  std::printf("\nnot in the log\n");
  std::fflush(stdout);
  CHECK(file_text(log) == "line one 1\nline two\nline three\nno newline at the end");
  {
    StdoutTee tee(log);
    std::printf("\nsecond run\n");
  }
  CHECK(file_text(log) == "line one 1\nline two\nline three\nno newline at the end\nsecond run\n");
  CHECK_ERROR_HAS(StdoutTee bad((dir / "missing" / "log.txt").string()), "cannot open the log");
}

TEST_CASE("csv: quoting and numbers round trip") {
  std::vector<std::string> header{"case", "note", "value"};
  std::vector<std::vector<std::string>> rows{{"a,b", "say \"hi\"", csv_number(0.1)},
                                             {"multi\nline", "", csv_number(1.0 / 3.0)},
                                             {"plain", "x", csv_number(std::nan(""))},
                                             {"inf", "y", csv_number(-INFINITY)}};
  std::string text = csv_line(header);
  for (auto& r : rows) text += csv_line(r);
  CsvTable t = parse_csv(text, "mem");
  CHECK(t.columns == header);
  CHECK(t.rows == rows);
  auto v = t.numbers("value");
  CHECK(v[0] == 0.1);
  CHECK(v[1] == 1.0 / 3.0);
  CHECK(std::isnan(v[2]));
  CHECK(v[3] == -INFINITY);
  CHECK(csv_number(3.0) == "3");
  CHECK_ERROR_HAS(t.numbers("case"), "mem: row 2, column 'case': 'a,b' is not a number");
  CHECK_ERROR_HAS(t.index("dice"), "no column 'dice'", "case, note, value");
  CHECK_ERROR_HAS(parse_csv("a,b\n1,2,3\n4,5\n", "bad.csv"), "bad.csv: row 2 has 3 cells");
  CHECK_ERROR_HAS(parse_csv("a\n\"open\n", "q.csv"), "not closed");
  // A last line without newline is kept when complete, dropped when short (torn).
  CHECK(parse_csv("a,b\n1,2", "m").rows.size() == 1);
  CHECK(parse_csv("a,b\n1,2\n3", "m").rows.size() == 1);
  CHECK(parse_csv("a,b\r\n1,2\r\n", "m").rows.size() == 1);
}

TEST_CASE("csv appender: header, append, reopen, torn line, truncate on resume") {
  auto dir = scratch_dir("csv-append");
  const auto path = (dir / "metrics.csv").string();
  {
    CsvAppender m(path, {"epoch", "loss", "dice"});
    m.append(std::vector<double>{1, 0.5, 0.25});
    m.append(std::vector<double>{2, 0.4, 0.5});
    CHECK(m.rows() == 2);
    CHECK_ERROR_HAS(m.append(std::vector<double>{3, 0.3}), "a row of 2 cells for 3 columns");
  }
  CHECK(file_text(path) == "epoch,loss,dice\n1,0.5,0.25\n2,0.4,0.5\n");
  std::ofstream(path, std::ios::app) << "3,0.3";  // a crash in the middle of a row
  {
    CsvAppender m(path, {"epoch", "loss", "dice"});
    CHECK(m.rows() == 2);
    m.append(std::vector<double>{3, 0.3, 0.75});
    m.append(std::vector<double>{4, 0.2, 0.8});
    // Resumed from the checkpoint of epoch 2: epochs 3 and 4 are run again.
    CHECK(m.truncate_after(2) == 2);
    CHECK(m.rows() == 2);
    m.append(std::vector<double>{3, 0.31, 0.7});
  }
  CsvTable t = read_csv(path);
  CHECK(t.numbers("epoch") == std::vector<double>{1, 2, 3});
  CHECK(t.numbers("loss") == std::vector<double>{0.5, 0.4, 0.31});
  CHECK_ERROR_HAS(CsvAppender(path, {"epoch", "loss"}), "has columns [epoch, loss, dice], this run writes [epoch, loss]");
}

TEST_CASE("checkpoint folder: keeps the newest, finds the latest, resumes weights") {
  auto dir = scratch_dir("ckpt") / "checkpoints";
  Generator gen(3);
  nn::Linear lin(3, 2, gen);
  nn::CheckpointParts parts{{{"net", &lin}}, {}, {}};
  CheckpointDir ck(dir, 2);
  CHECK_FALSE(ck.latest().has_value());
  CHECK_FALSE(ck.resume(parts).has_value());
  std::vector<std::vector<double>> saved;
  for (int64_t e = 1; e <= 4; ++e) {
    for (auto& [n, p] : lin.named_parameters()) p.data<float>()[0] = static_cast<float>(e);
    saved.push_back(lin.named_parameters().front().second.to_vector());
    nn::CheckpointState st;
    st.epoch = e;
    st.step = 10 * e;
    ck.save(parts, st);
  }
  std::ofstream(dir / "epoch-000009.safetensors.tmp") << "torn";
  std::ofstream(dir / "notes.txt") << "x";
  std::ofstream(dir / "epoch-abc.safetensors") << "x";
  auto l = ck.list();
  REQUIRE(l.size() == 2);
  CHECK(l[0].at.epoch == 3);
  CHECK(l[1].at.epoch == 4);
  CHECK(*ck.latest() == ck.path_for(4));
  CHECK(ck.path_for(12).filename() == "epoch-000012.safetensors");
  for (auto& [n, p] : lin.named_parameters()) p.data<float>()[0] = -1.f;
  auto r = ck.resume(parts);
  REQUIRE(r.has_value());
  CHECK(r->path == ck.path_for(4));
  CHECK(r->skipped.empty());
  const auto* st = &r->state;
  CHECK(st->epoch == 4);
  CHECK(st->step == 40);
  CHECK(lin.named_parameters().front().second.to_vector() == saved[3]);
  CHECK_ERROR_HAS(CheckpointDir(dir, 0), "keep at least one");
}

TEST_CASE("checkpoint folder: mid-epoch files, their order and pruning; corrupt files passed over") {
  auto dir = scratch_dir("ckpt-mid") / "checkpoints";
  Generator gen(5);
  nn::Linear lin(2, 1, gen);
  nn::CheckpointParts parts{{{"net", &lin}}, {}, {{"gen", &gen}}};
  CheckpointDir ck(dir, 2);
  auto save = [&](int64_t epoch, int64_t step, float w) {
    for (auto& [n, p] : lin.named_parameters()) p.data<float>()[0] = w;
    nn::CheckpointState st;
    st.epoch = epoch;
    st.step = 10 * epoch + step;
    return ck.save(parts, st, RunPosition{epoch, step});
  };
  save(1, 0, 1.f);
  const auto mid = save(1, 4, 2.f);
  CHECK(mid.filename() == "epoch-000001-step-000004.safetensors");
  std::ofstream(dir / "epoch-000001-step-000000.safetensors") << "x";  // not a name it writes
  auto l = ck.list();
  REQUIRE(l.size() == 2);
  CHECK(l[0].at == RunPosition{1, 0});
  CHECK(l[1].at == RunPosition{1, 4});
  CHECK(*ck.latest() == mid);
  // The newest is torn: resume passes over it, names it and loads the older one.
  fs::resize_file(mid, fs::file_size(mid) / 2);
  for (auto& [n, p] : lin.named_parameters()) p.data<float>()[0] = -1.f;
  auto r = ck.resume(parts);
  REQUIRE(r.has_value());
  CHECK(r->path == ck.path_for(1));
  REQUIRE(r->skipped.size() == 1);
  CHECK(r->skipped[0].find(mid.string()) != std::string::npos);
  CHECK(lin.named_parameters().front().second.to_vector()[0] == 1.0);
  // An end-of-epoch file supersedes the mid-epoch one before it; then the newest 2 are kept.
  save(2, 0, 3.f);
  l = ck.list();
  REQUIRE(l.size() == 2);
  CHECK(l[0].at == RunPosition{1, 0});
  CHECK(l[1].at == RunPosition{2, 0});
  save(2, 3, 4.f);
  save(3, 0, 5.f);
  l = ck.list();
  REQUIRE(l.size() == 2);
  CHECK(l[0].at == RunPosition{2, 0});
  CHECK(l[1].at == RunPosition{3, 0});
}

TEST_CASE("run.threads sets the OpenMP thread count") {
  Config c = load_preset("small");
  const int before = omp_get_max_threads();
  c.set("run.threads=1");
  CHECK(apply_thread_setting(c) == 1);
  CHECK(omp_get_max_threads() == 1);
  c.set("run.threads=3");
  CHECK(apply_thread_setting(c) == 3);
  CHECK(omp_get_max_threads() == 3);
  c.set("run.threads=0");
  CHECK(apply_thread_setting(c) == omp_get_num_procs());
  omp_set_num_threads(before);
}
