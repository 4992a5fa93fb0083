// safetensors I/O and checkpoints: round trips, atomic writes, clear errors, a resumed run
// that continues bit for bit like an uninterrupted one, corrupt files and non-finite values.
#include <cmath>
#include <filesystem>
#include <fstream>

#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "nn/checkpoint.h"
#include "nn/layers.h"
#include "nn/safetensors.h"
#include "test_util.h"

using namespace pn;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const char* name) {
  fs::path p = fs::temp_directory_path() / fmt::format("penumbra_test_{}_{}", name, ::getpid());
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

struct TinyNet : nn::UnaryModule {
  std::shared_ptr<nn::Linear> a, b;
  explicit TinyNet(Generator& g) {
    a = register_module("a", std::make_shared<nn::Linear>(4, 8, g));
    b = register_module("b", std::make_shared<nn::Linear>(8, 2, g));
  }
  Tensor forward(const Tensor& x) override { return b->forward(tanh(a->forward(x))); }
  std::string describe() const override { return "TinyNet"; }
};

// Trains `steps` Adam steps on a fixed regression problem drawn from gen.
void train(TinyNet& net, nn::Adam& opt, Generator& gen, int steps) {
  for (int s = 0; s < steps; ++s) {
    Tensor x = Tensor::randn({5, 4}, gen), y = Tensor::randn({5, 2}, gen);
    Tensor loss = mean(square(sub(net.forward(x), y)));
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
}

}  // namespace

TEST_CASE("safetensors round trip keeps names, shapes, dtypes, values and metadata") {
  auto dir = temp_dir("st");
  Generator g(1);
  nn::NamedTensors ts{{"w", Tensor::randn({3, 4}, g)}, {"d", Tensor::randn({2}, g, DType::Float64)}, {"s", Tensor::scalar(7.0)}};
  nn::save_safetensors((dir / "a.safetensors").string(), ts, {{"note", "hello"}});
  CHECK_FALSE(fs::exists(dir / "a.safetensors.tmp"));
  auto f = nn::load_safetensors((dir / "a.safetensors").string());
  REQUIRE(f.tensors.size() == 3);
  for (auto& [n, t] : ts) {
    const Tensor* r = f.find(n);
    REQUIRE(r != nullptr);
    CHECK(r->shape() == t.shape());
    CHECK(r->dtype() == t.dtype());
    CHECK(r->to_vector() == t.to_vector());
  }
  CHECK(f.metadata.at("note") == "hello");
  fs::remove_all(dir);
}

TEST_CASE("safetensors errors name the file and the problem") {
  auto dir = temp_dir("sterr");
  std::string missing = (dir / "nope.safetensors").string();
  CHECK_THROWS_WITH_AS(nn::load_safetensors(missing), doctest::Contains("nope.safetensors: cannot open"), pn::Error);
  Generator g(2);
  std::string p = (dir / "t.safetensors").string();
  nn::save_safetensors(p, {{"w", Tensor::randn({100}, g)}});
  fs::resize_file(p, fs::file_size(p) - 40);
  CHECK_THROWS_WITH_AS(nn::load_safetensors(p), doctest::Contains("truncated"), pn::Error);
  std::ofstream(dir / "junk.safetensors") << "this is not a safetensors file at all";
  CHECK_THROWS_WITH_AS(nn::load_safetensors((dir / "junk.safetensors").string()), doctest::Contains("junk.safetensors"), pn::Error);
  fs::remove_all(dir);
}

TEST_CASE("a checkpoint that does not fit the model lists missing, unexpected and mismatched tensors") {
  auto dir = temp_dir("ckfit");
  Generator g(3);
  TinyNet net(g);
  std::string p = (dir / "c.safetensors").string();
  nn::save_safetensors(p, {{"model.a.weight", Tensor::zeros({8, 5})}, {"model.extra", Tensor::zeros({1})}},
                       {{"step", "0"}, {"epoch", "0"}});
  nn::CheckpointParts parts{{{"model", &net}}, {}, {}};
  try {
    nn::load_checkpoint(p, parts);
    FAIL("no error");
  } catch (const pn::Error& e) {
    std::string m = e.what();
    CHECK(m.find("missing") != std::string::npos);
    CHECK(m.find("model.a.bias") != std::string::npos);
    CHECK(m.find("unexpected") != std::string::npos);
    CHECK(m.find("model.extra") != std::string::npos);
    CHECK(m.find("mismatched") != std::string::npos);
    CHECK(m.find("float32[8, 5]") != std::string::npos);
  }
  fs::remove_all(dir);
}

TEST_CASE("training resumed from a checkpoint continues bit for bit") {
  auto dir = temp_dir("resume");
  std::string p = (dir / "ck.safetensors").string();
  // Uninterrupted: 6 steps.
  Generator g1(7);
  TinyNet ref(g1);
  nn::Adam opt_ref(ref.named_parameters(), {1e-2});
  train(ref, opt_ref, g1, 6);
  // Interrupted after 3, saved, restored into a fresh model with different initial weights.
  Generator g2(7);
  TinyNet run(g2);
  nn::Adam opt_run(run.named_parameters(), {1e-2});
  train(run, opt_run, g2, 3);
  nn::save_checkpoint(p, {{{"model", &run}}, {{"opt", &opt_run}}, {{"data", &g2}}}, {3, 0, {}});
  Generator g3(99);
  TinyNet resumed(g3);
  nn::Adam opt_res(resumed.named_parameters(), {1e-2});
  auto st = nn::load_checkpoint(p, {{{"model", &resumed}}, {{"opt", &opt_res}}, {{"data", &g3}}});
  CHECK(st.step == 3);
  CHECK(opt_res.steps() == 3);
  CHECK(g3.seed() == 7);
  CHECK(g3.offset() == g2.offset());
  train(resumed, opt_res, g3, 3);
  auto pr = ref.named_parameters(), pz = resumed.named_parameters();
  REQUIRE(pr.size() == pz.size());
  for (size_t i = 0; i < pr.size(); ++i) CHECK(pr[i].second.to_vector() == pz[i].second.to_vector());
  fs::remove_all(dir);
}

TEST_CASE("modules name parameters by path and count them") {
  Generator g(5);
  TinyNet net(g);
  auto ps = net.named_parameters();
  REQUIRE(ps.size() == 4);
  CHECK(ps[0].first == "a.weight");
  CHECK(ps[3].first == "b.bias");
  CHECK(net.num_parameters() == 4 * 8 + 8 + 8 * 2 + 2);
  CHECK(net.summary().find("total parameters: 58") != std::string::npos);
}

TEST_CASE("a checkpoint altered after writing is corrupt; one with NaN is neither written nor loaded") {
  auto dir = temp_dir("ckbad");
  Generator g(4);
  TinyNet net(g);
  nn::Adam opt(net.named_parameters(), {1e-2});
  train(net, opt, g, 1);
  const nn::CheckpointParts parts{{{"model", &net}}, {{"opt", &opt}}, {{"data", &g}}};
  const std::string p = (dir / "c.safetensors").string();
  nn::save_checkpoint(p, parts, {1, 0, {}});
  CHECK_NOTHROW(nn::read_checkpoint(p));
  // One byte of the last tensor flipped: the format still parses, the checksum does not match.
  {
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-3, std::ios::end);
    f.put('\x7f');
  }
  CHECK(nn::load_safetensors(p).tensors.size() > 0);
  CHECK_THROWS_WITH_AS(nn::read_checkpoint(p), doctest::Contains("c.safetensors: corrupt: the tensors' checksum"),
                       pn::Error);

  // NaN in the model: save refuses, naming the tensor.
  const auto before = net.named_parameters()[0].second.to_vector();
  net.named_parameters()[2].second.data<float>()[1] = std::nanf("");
  const std::string q = (dir / "nan.safetensors").string();
  CHECK_THROWS_WITH_AS(nn::save_checkpoint(q, parts, {2, 0, {}}),
                       doctest::Contains("model.b.weight (1 NaN or infinite of 16)"), pn::Error);
  CHECK_FALSE(fs::exists(q));
  // A file holding an infinity (written by other means) is refused on load and the model
  // is left as it was.
  nn::NamedTensors ts;
  for (auto& [n, t] : net.named_parameters()) ts.emplace_back("model." + n, t.detach());
  ts[2].second.data<float>()[1] = INFINITY;
  nn::save_safetensors(q, ts, {{"step", "2"}, {"epoch", "0"}});
  TinyNet other(g);
  const auto other_before = other.named_parameters()[0].second.to_vector();
  CHECK_THROWS_WITH_AS(nn::load_checkpoint(q, {{{"model", &other}}, {}, {}}),
                       doctest::Contains("holds NaN or infinite values"), pn::Error);
  CHECK(other.named_parameters()[0].second.to_vector() == other_before);
  CHECK(before.size() == other_before.size());
  fs::remove_all(dir);
}
