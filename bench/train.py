"""Training throughput: fp32 vs bf16 autocast, and S seeds one at a time vs as one stacked model.

Prints images/s of training (forward + backward + optimiser step, minibatches
gathered from a data set held on the device, through the step
labelnoise.training takes) for the paper's MNIST net (Section 5; width 1 and
the default 0.25) and All-CNN-C (the CIFAR-10 net), on the CPU and, when
present, on CUDA (with the deterministic cuDNN settings training uses):

1. precision: float32 vs bfloat16 autocast, channels_last, as the workflow
   trains on the device (CPU: one network per job; CUDA: ``--cuda-seeds``
   networks as one wide stack) (``train.precision``; ``auto`` picks bf16 on
   CUDA and on CPUs with native bf16, which the header line says);
2. seeds: the per-model loop and both :class:`~labelnoise.seed_stack.SeedStack`
   layouts, seed-major and wide, at the ``auto`` precision. Batched training
   (``train.batched_seeds``) uses the layout the header line names.

Each figure is the median over timed rounds in which the paths take turns,
after warm-up steps. Run from the repository root:

    .venv/bin/python bench/train.py            # about 2-3 minutes on one CPU core
    .venv/bin/python bench/train.py --cuda-only         # CUDA only (10 seeds, the paper's MNIST count)
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from labelnoise.models import build_model
from labelnoise.seed_stack import STACK_LAYOUTS, SeedStack, preferred_stack_layout
from labelnoise.seeding import seed_everything
from labelnoise.device import autocast, cpu_has_native_bf16, request_deterministic_cuda, resolve_precision

#: (label, arch, channels, image size, width, fc_dim, devices it runs on).
CASES = (
    ("MNIST net, width 0.25 (default)", "paper_cnn", 1, 28, 0.25, 500, ("cpu", "cuda")),
    ("MNIST net, width 1 (paper)", "paper_cnn", 1, 28, 1.0, 500, ("cpu", "cuda")),
    ("All-CNN-C, width 0.25", "allcnn_c_nodropout", 3, 32, 0.25, None, ("cpu",)),
    ("All-CNN-C, width 1 (paper)", "allcnn_c_nodropout", 3, 32, 1.0, None, ("cuda",)),
)


def _synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time_interleaved(steps: dict, n_steps: int, warmup: int, repeats: int, images_per_step: int, device: torch.device) -> dict:
    """Median images/s of each step function over ``repeats`` rounds of ``n_steps`` steps.

    The paths take turns within each round (after ``warmup`` steps each), so
    a drift of the machine's speed (turbo, a neighbour's load) hits them alike.
    """
    for step in steps.values():
        for _ in range(warmup):
            step()
    _synchronise(device)
    rates: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            started = time.perf_counter()
            for _ in range(n_steps):
                step()
            _synchronise(device)
            rates[name].append(images_per_step * n_steps / (time.perf_counter() - started))
    return {name: statistics.median(values) for name, values in rates.items()}


def bench_case(arch, channels, size, width, fc_dim, device, n_seeds, batch_size, n_images, timing) -> dict:
    """images/s of training ``n_seeds`` models: per-model loop and both stack layouts."""
    memory_format = torch.channels_last
    autocast_dtype = resolve_precision("auto", device)
    gen = torch.Generator().manual_seed(0)
    x_train = torch.rand(n_images, channels, size, size, generator=gen).to(device)
    y_train = torch.randint(0, 10, (n_seeds, n_images), generator=gen).to(device)
    orders = torch.stack([torch.randperm(n_images, generator=gen) for _ in range(n_seeds)]).to(device)
    models = [build_model(arch, channels, size, 10, width=width, fc_dim=fc_dim) for _ in range(n_seeds)]
    position = {"loop": 0, **{layout: 0 for layout in STACK_LAYOUTS}}

    def next_indices(key: str) -> torch.Tensor:
        start = position[key] % (n_images - batch_size)
        position[key] += batch_size
        return orders[:, start : start + batch_size]

    stacks = {layout: SeedStack(models, layout).to(device=device, memory_format=memory_format).train() for layout in STACK_LAYOUTS}
    loop_models = [m.to(device=device, memory_format=memory_format).train() for m in models]
    loop_optimisers = [torch.optim.SGD(m.parameters(), lr=1e-3, momentum=0.9, weight_decay=1e-3) for m in loop_models]

    def loop_step() -> None:
        indices = next_indices("loop")
        for s, (model, optimiser) in enumerate(zip(loop_models, loop_optimisers)):
            xb = x_train[indices[s]].contiguous(memory_format=memory_format)
            with autocast(device, autocast_dtype):
                logits = model(xb)
            loss = F.cross_entropy(logits.float(), y_train[s, indices[s]])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()

    def stack_step_of(layout: str):
        stack = stacks[layout]
        optimiser = torch.optim.SGD(stack.parameters(), lr=1e-3, momentum=0.9, weight_decay=1e-3)
        all_seeds = list(range(n_seeds))

        def stack_step() -> None:  # the step train_seeds takes
            indices = next_indices(layout)
            yb = torch.gather(y_train, 1, indices)
            stack.training_step(x_train[indices], yb, all_seeds, optimiser, autocast_dtype, memory_format)

        return stack_step

    steps = {"loop": loop_step, **{layout: stack_step_of(layout) for layout in STACK_LAYOUTS}}
    return _time_interleaved(steps, *timing, n_seeds * batch_size, device)


def bench_precision(arch, channels, size, width, fc_dim, device, n_seeds, batch_size, n_images, timing) -> dict:
    """images/s of training ``n_seeds`` networks as the workflow does on ``device`` (its preferred stack layout), fp32 vs bf16."""
    memory_format = torch.channels_last
    gen = torch.Generator().manual_seed(0)
    x_train = torch.rand(n_images, channels, size, size, generator=gen).to(device)
    y_train = torch.randint(0, 10, (n_seeds, n_images), generator=gen).to(device)
    all_seeds = list(range(n_seeds))
    steps = {}
    for name, dtype in (("fp32", None), ("bf16", torch.bfloat16)):
        models = [build_model(arch, channels, size, 10, width=width, fc_dim=fc_dim) for _ in range(n_seeds)]
        stack = SeedStack(models, preferred_stack_layout(device)).to(device=device, memory_format=memory_format).train()
        optimiser = torch.optim.Adam(stack.parameters(), lr=1e-3)
        orders = torch.stack([torch.randperm(n_images, generator=gen) for _ in range(n_seeds)]).to(device)
        position = [0]

        def step(stack=stack, optimiser=optimiser, orders=orders, position=position, dtype=dtype) -> None:
            start = position[0] % (n_images - batch_size)
            position[0] += batch_size
            indices = orders[:, start : start + batch_size]
            stack.training_step(x_train[indices], torch.gather(y_train, 1, indices), all_seeds, optimiser, dtype, memory_format)

        steps[name] = step
    return _time_interleaved(steps, *timing, n_seeds * batch_size, device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4, help="seeds stacked on the CPU (the default config trains 2)")
    parser.add_argument("--cuda-seeds", type=int, default=10, help="seeds stacked on CUDA (paper: 10 MNIST, 7 CIFAR-10)")
    parser.add_argument("--batch-size", type=int, default=64, help="minibatch per seed (schema default 64)")
    parser.add_argument("--precision-batch-size", type=int, default=256,
                        help="minibatch of the fp32 / bf16 comparison (configs/mnist_full.yaml: 256)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (the workflow's default per job: 1)")
    parser.add_argument("--cpu-steps", type=int, default=3, help="timed steps per repeat on the CPU")
    parser.add_argument("--cuda-steps", type=int, default=50, help="timed steps per repeat on CUDA")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds (the median is printed)")
    parser.add_argument("--cuda-only", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    seed_everything(0)  # also the deterministic-kernel settings training runs under

    devices = [] if args.cuda_only else [torch.device("cpu")]
    if torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    print(f"torch {torch.__version__}; {args.batch_size} images per seed per step; "
          f"channels_last; median of {args.repeats} timed repeats after warm-up")
    for device in devices:
        if device.type == "cuda":
            request_deterministic_cuda()
        name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({args.threads} thread(s))"
        precision = "bf16 autocast" if resolve_precision("auto", device) is not None else "fp32"
        native = f"; native bf16: {'yes' if cpu_has_native_bf16() else 'no'}" if device.type == "cpu" else ""
        steps = args.cuda_steps if device.type == "cuda" else args.cpu_steps
        precision_seeds = args.cuda_seeds if device.type == "cuda" else 1
        print(f"\ndevice: {name}{native}; precision auto = {precision}; {precision_seeds} network(s) "
              f"({preferred_stack_layout(device)} layout), batch {args.precision_batch_size}")
        print(f"{'model':34s} {'fp32 img/s':>11s} {'bf16 img/s':>11s} {'bf16/fp32':>9s}")
        for label, arch, channels, size, width, fc_dim, where in CASES:
            if device.type not in where:
                continue
            rates = bench_precision(arch, channels, size, width, fc_dim, device, precision_seeds, args.precision_batch_size,
                                    n_images=args.precision_batch_size * 8, timing=(steps, max(1, steps // 3), args.repeats))
            print(f"{label:34s} {rates['fp32']:11.0f} {rates['bf16']:11.0f} {rates['bf16'] / rates['fp32']:8.2f}x", flush=True)
        n_seeds = args.cuda_seeds if device.type == "cuda" else args.seeds
        used = preferred_stack_layout(device)
        print(f"\ndevice: {name}, {precision}, {n_seeds} seeds of batch {args.batch_size}; batched training uses the {used} layout here")
        print(f"{'model':34s} {'loop img/s':>11s} " + " ".join(f"{layout + ' img/s':>17s} {'x loop':>6s}" for layout in STACK_LAYOUTS))
        for label, arch, channels, size, width, fc_dim, where in CASES:
            if device.type not in where:
                continue
            timing = (steps, max(1, steps // 3), args.repeats)
            rates = bench_case(
                arch, channels, size, width, fc_dim, device, n_seeds, args.batch_size,
                n_images=n_seeds * args.batch_size * 4, timing=timing,
            )
            loop = rates["loop"]
            print(f"{label:34s} {loop:11.0f} " + " ".join(
                f"{rates[layout]:17.0f} {rates[layout] / loop:5.2f}x" for layout in STACK_LAYOUTS), flush=True)


if __name__ == "__main__":
    main()
