"""The verdict of report.py on synthetic results: a complete passing set passes, and each
kind of failure the first GPU run can meet fails it (run by CTest as test_gpu_check_report).
"""
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
NETS = ["unet", "pix2pix", "spade", "wgan"]
FP32_NETS = NETS + ["unet_cl"]  # the channels-last U-Net in float32 only
STEPS = ["env", "build", "libs", "ctest", "memcheck", "racecheck", "bigsum", "conv", "conv_torch", "igemm"] + \
    [s for n in FP32_NETS for s in (f"steps_{n}", f"steps_{n}_torch")] + \
    [s for p in ("bf16", "fp16") for n in NETS for s in (f"steps_{n}_{p}", f"steps_{n}_{p}_torch")]


def passing_results():
    lines = []
    for check, outputs in (("fill", 9), ("sum_all", 1), ("sum_rows", 3), ("sum_cols", 3)):
        lines.append(f"kind=bigsum check={check} n=9 outputs={outputs} wrong=0 first_bad=-1 expected=1 got=1 ms=1 "
                     "gbps=1 ok=1")
    for tf32 in ("off", "on", "bf16", "fp16"):
        for d in ("fwd", "bwd_data", "bwd_filter"):
            lines.append(f"kind=conv case=0 layers=down0.0 dir={d} tf32={tf32} N=2 Cin=1 Cout=2 D=4 H=8 W=8 seed=0 "
                         "ms=1 tflops=1 algo=ALGO_1 algo_id=1 workspace=0 deterministic=1 file=x.f32")
            lines.append(f"kind=torch_conv case=0 dir={d} tf32={tf32} ms=1 tflops=1 deterministic=1 "
                         "err_ours=1e-7 err_torch=1e-7 diff_ours_torch=1e-7 nan_ours=0")
    for d in ("fwd", "bwd_data", "bwd_filter"):
        for dtype, diff in (("float32", "2e-7"), ("bfloat16", "4e-3")):
            lines.append(f"kind=igemm case=1 layers=down0.3 dir={d} dtype={dtype} N=2 Cin=2 Cout=2 D=4 H=8 W=8 "
                         f"cudnn_ms=1 cudnn_tflops=1 ours_ms=2 ours_tflops=0.5 cudnn_over_ours=0.5 diff={diff} "
                         "deterministic=1")
    for n in FP32_NETS:
        lines.append(f"kind=steps net={n} scale=tiny first_ms=5 ms=1 reps=5 peak_bytes=1048576 device_mallocs=3")
        lines.append(f"kind=torch_steps net={n} first_ms=5 ms=1 reps=5 peak_bytes=1048576 loss_g_ours=0.5 "
                     "loss_g_torch=0.5 loss_g_rel=1e-7 grad_g_worst=1e-6 grad_g_worst_name=g.out.weight "
                     "grad_g_tensors=4 grad_g_mean=1e-7")
    for n in NETS:
        for p in ("bf16", "fp16"):
            lines.append(f"kind=steps net={n} scale=tiny precision={p} first_ms=5 ms=1 reps=5 peak_bytes=1048576 "
                         "device_mallocs=3")
            lines.append(f"kind=torch_steps net={n} precision={p} first_ms=5 ms=1 reps=5 peak_bytes=1048576 "
                         "loss_g_ours=0.5 loss_g_torch=0.5 loss_g_rel=1e-4 grad_g_worst=0.9 grad_g_worst_name=g.b "
                         "grad_g_tensors=4 grad_g_mean=0.1 grad_g_l2=0.01")
    return ["GPU_CHECK " + ln for ln in lines]


JUNIT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="gpu" tests="2" failures="0" skipped="{skipped}">
<testcase name="test_gpu_kernels" classname="test_gpu_kernels" time="1.0" status="{status}">{extra}</testcase>
<testcase name="test_gpu_models" classname="test_gpu_models" time="2.0" status="run"/>
</testsuite>
"""


class ReportVerdict(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.work = self.tmp.name
        os.makedirs(os.path.join(self.work, "logs"))
        self.reset()

    def reset(self):
        self.steps = {s: "ok" for s in STEPS}
        self.results = passing_results()
        self.junit = JUNIT.format(skipped=0, status="run", extra="")

    def tearDown(self):
        self.tmp.cleanup()

    def verdict(self, mode="real"):
        with open(os.path.join(self.work, "steps.tsv"), "w") as f:
            for s, status in self.steps.items():
                f.write(f"{s}\t{status}\t1.0\t60\tlogs/{s}.log\n")
        with open(os.path.join(self.work, "results.txt"), "w") as f:
            f.write("\n".join(self.results) + "\n")
        if self.junit is not None:
            with open(os.path.join(self.work, "ctest_gpu.xml"), "w") as f:
                f.write(self.junit)
        out = os.path.join(self.work, "report.md")
        r = subprocess.run([sys.executable, os.path.join(HERE, "report.py"), "--work", self.work, "--out", out,
                            "--mode", mode, "--size", "tiny"], capture_output=True, text=True)
        with open(out) as f:
            self.report = f.read()
        return r.returncode

    def drop(self, prefix):
        self.results = [r for r in self.results if not r.startswith("GPU_CHECK " + prefix)]

    def replace(self, old, new):
        self.results = [r.replace(old, new) for r in self.results]

    def test_complete_passing_results_pass(self):
        self.assertEqual(self.verdict(), 0, self.report)
        self.assertIn("**Result: PASS**", self.report)

    def test_a_failed_or_timed_out_step_fails(self):
        self.steps["memcheck"] = "failed"
        self.assertEqual(self.verdict(), 1)
        self.steps["memcheck"], self.steps["conv_torch"] = "ok", "timeout"
        self.assertEqual(self.verdict(), 1)

    def test_a_missing_sanitizer_is_not_a_failure(self):
        self.steps["memcheck"] = self.steps["racecheck"] = "skipped"
        self.assertEqual(self.verdict(), 0, self.report)

    def test_a_skipped_gpu_suite_fails_on_a_gpu_but_not_in_a_dry_run(self):
        self.junit = JUNIT.format(skipped=1, status="notrun", extra='<skipped message="SKIP_RETURN_CODE=77"/>')
        self.assertEqual(self.verdict("real"), 1)
        self.assertIn("a skip counts as a failure", self.report)
        self.assertEqual(self.verdict("dry-run"), 0, self.report)

    def test_a_failed_gpu_suite_or_no_suite_fails(self):
        self.junit = JUNIT.format(skipped=0, status="fail", extra='<failure message="Failed"/>')
        self.assertEqual(self.verdict(), 1)
        self.junit = None
        self.assertEqual(self.verdict(), 1)

    def test_a_wrong_element_past_2_31_fails(self):
        self.replace("check=sum_all n=9 outputs=1 wrong=0", "check=sum_all n=9 outputs=1 wrong=1")
        self.replace("wrong=1 first_bad=-1 expected=1 got=1 ms=1 gbps=1 ok=1", "wrong=1 first_bad=0 expected=1 got=2 "
                     "ms=1 gbps=1 ok=0")
        self.assertEqual(self.verdict(), 1)
        self.drop("kind=bigsum check=fill")
        self.assertEqual(self.verdict(), 1)

    def test_a_convolution_off_tolerance_or_not_compared_fails(self):
        self.replace("dir=bwd_filter tf32=off ms=1 tflops=1 deterministic=1 err_ours=1e-7",
                     "dir=bwd_filter tf32=off ms=1 tflops=1 deterministic=1 err_ours=3e-4")
        self.assertEqual(self.verdict(), 1)
        self.assertIn("bwd_filter TF32 off: error 0.0003", self.report)
        self.reset()
        self.replace("dir=fwd tf32=on ms=1 tflops=1 deterministic=1 err_ours=1e-7",
                     "dir=fwd tf32=on ms=1 tflops=1 deterministic=1 err_ours=2e-3")  # within TF32's tolerance
        self.assertEqual(self.verdict(), 0, self.report)
        self.drop("kind=torch_conv case=0 dir=fwd tf32=on")
        self.assertEqual(self.verdict(), 1)

    def test_implicit_gemm_off_cudnn_nondeterministic_or_missing_fails(self):
        # A bf16 row at 4e-3 passes (its tolerance is 1e-2); the same in float32 fails.
        self.replace("dir=bwd_filter dtype=float32 N=2 Cin=2 Cout=2 D=4 H=8 W=8 cudnn_ms=1 cudnn_tflops=1 ours_ms=2 "
                     "ours_tflops=0.5 cudnn_over_ours=0.5 diff=2e-7", "dir=bwd_filter dtype=float32 N=2 Cin=2 Cout=2 "
                     "D=4 H=8 W=8 cudnn_ms=1 cudnn_tflops=1 ours_ms=2 ours_tflops=0.5 cudnn_over_ours=0.5 diff=5e-3")
        self.assertEqual(self.verdict(), 1)
        self.assertIn("bwd_filter float32: max |ours - cuDNN| / max |cuDNN| = 0.005", self.report)
        self.reset()
        self.replace("dir=fwd dtype=bfloat16 N=2 Cin=2 Cout=2 D=4 H=8 W=8 cudnn_ms=1 cudnn_tflops=1 ours_ms=2 "
                     "ours_tflops=0.5 cudnn_over_ours=0.5 diff=4e-3", "dir=fwd dtype=bfloat16 N=2 Cin=2 Cout=2 "
                     "D=4 H=8 W=8 cudnn_ms=1 cudnn_tflops=1 ours_ms=2 ours_tflops=0.5 cudnn_over_ours=0.5 diff=2e-2")
        self.assertEqual(self.verdict(), 1)
        self.assertIn("fwd bfloat16: max |ours - cuDNN| / max |cuDNN| = 0.02 > 0.01", self.report)
        self.reset()
        self.replace("diff=2e-7 deterministic=1", "diff=2e-7 deterministic=0")
        self.assertEqual(self.verdict(), 1)
        self.assertIn("two runs of ours differ", self.report)
        self.reset()
        self.drop("kind=igemm")
        self.assertEqual(self.verdict(), 1)
        self.assertIn("implicit GEMM: no results of ours", self.report)

    def test_a_16bit_convolution_is_judged_by_its_own_tolerance(self):
        self.replace("dir=fwd tf32=bf16 ms=1 tflops=1 deterministic=1 err_ours=1e-7",
                     "dir=fwd tf32=bf16 ms=1 tflops=1 deterministic=1 err_ours=4e-3")  # a bf16 rounding
        self.assertEqual(self.verdict(), 0, self.report)
        self.assertIn("### bf16 storage, fp32 accumulation", self.report)
        self.replace("dir=bwd_data tf32=fp16 ms=1 tflops=1 deterministic=1 err_ours=1e-7",
                     "dir=bwd_data tf32=fp16 ms=1 tflops=1 deterministic=1 err_ours=4e-3")  # too much for fp16
        self.assertEqual(self.verdict(), 1)
        self.assertIn("bwd_data fp16: error 0.004", self.report)
        self.reset()
        self.drop("kind=torch_conv case=0 dir=bwd_filter tf32=bf16")
        self.assertEqual(self.verdict(), 1)
        self.assertIn("case 0 bwd_filter bf16: no PyTorch comparison", self.report)

    def test_nan_in_our_convolution_fails(self):
        self.replace("dir=fwd tf32=off ms=1 tflops=1 deterministic=1 err_ours=1e-7 err_torch=1e-7 diff_ours_torch=1e-7 "
                     "nan_ours=0", "dir=fwd tf32=off ms=1 tflops=1 deterministic=1 err_ours=inf err_torch=1e-7 "
                     "diff_ours_torch=inf nan_ours=12")
        self.assertEqual(self.verdict(), 1)

    def test_training_step_disagreement_or_missing_network_fails(self):
        self.replace("net=spade first_ms=5 ms=1 reps=5 peak_bytes=1048576 loss_g_ours=0.5 loss_g_torch=0.5 "
                     "loss_g_rel=1e-7", "net=spade first_ms=5 ms=1 reps=5 peak_bytes=1048576 loss_g_ours=0.6 "
                     "loss_g_torch=0.5 loss_g_rel=0.2")
        self.assertEqual(self.verdict(), 1)
        self.reset()
        self.replace("net=wgan first_ms=5 ms=1 reps=5 peak_bytes=1048576 loss_g_ours=0.5 loss_g_torch=0.5 "
                     "loss_g_rel=1e-7 grad_g_worst=1e-6", "net=wgan first_ms=5 ms=1 reps=5 peak_bytes=1048576 "
                     "loss_g_ours=0.5 loss_g_torch=0.5 loss_g_rel=1e-7 grad_g_worst=0.5")
        self.assertEqual(self.verdict(), 1)
        self.reset()
        self.drop("kind=torch_steps net=unet")
        self.assertEqual(self.verdict(), 1)
        self.assertIn("unet: no PyTorch comparison", self.report)
        # The channels-last U-Net (float32 only) is judged like the others.
        self.reset()
        self.drop("kind=torch_steps net=unet_cl first_ms")
        self.assertEqual(self.verdict(), 1)
        self.assertIn("unet_cl: no PyTorch comparison", self.report)
        self.assertNotIn("unet_cl bf16", self.report)

    def test_mixed_precision_is_judged_by_loss_and_gradient_norm(self):
        # A worst tensor of 0.9 (a gradient that is zero by construction, rounded) is not judged in
        # 16 bits; the whole model's gradient and the losses are.
        self.assertEqual(self.verdict(), 0, self.report)
        self.assertIn("## 6. The same iteration in mixed precision against PyTorch autocast", self.report)
        self.assertIn("| unet | bf16 | 1.0 | 1.0 | 1.00 | 1.00 |", self.report)
        self.replace("net=pix2pix precision=bf16 first_ms=5 ms=1 reps=5 peak_bytes=1048576 loss_g_ours=0.5 "
                     "loss_g_torch=0.5 loss_g_rel=1e-4", "net=pix2pix precision=bf16 first_ms=5 ms=1 reps=5 "
                     "peak_bytes=1048576 loss_g_ours=0.5 loss_g_torch=0.5 loss_g_rel=2e-2")
        self.assertEqual(self.verdict(), 1)
        self.assertIn("pix2pix bf16: a loss differs by 0.02 > 0.01", self.report)
        self.reset()
        self.replace("net=wgan precision=fp16 first_ms=5 ms=1 reps=5 peak_bytes=1048576 loss_g_ours=0.5 "
                     "loss_g_torch=0.5 loss_g_rel=1e-4 grad_g_worst=0.9 grad_g_worst_name=g.b grad_g_tensors=4 "
                     "grad_g_mean=0.1 grad_g_l2=0.01", "net=wgan precision=fp16 first_ms=5 ms=1 reps=5 "
                     "peak_bytes=1048576 loss_g_ours=0.5 loss_g_torch=0.5 loss_g_rel=1e-4 grad_g_worst=0.9 "
                     "grad_g_worst_name=g.b grad_g_tensors=4 grad_g_mean=0.1 grad_g_l2=0.1")
        self.assertEqual(self.verdict(), 1)
        self.assertIn("wgan fp16: gradients of g differ by 0.1 > 0.08", self.report)
        self.reset()
        self.drop("kind=torch_steps net=spade precision=fp16")
        self.assertEqual(self.verdict(), 1)
        self.assertIn("spade fp16: no PyTorch comparison", self.report)


if __name__ == "__main__":
    unittest.main()
