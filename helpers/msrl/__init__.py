"""MSRL: open reference implementation of "Breaking the SFT Plateau: Multimodal Structured
Reinforcement Learning for Chart-to-Code Generation" (arXiv 2508.13587).

The package holds all logic; the notebooks in ``notebooks/`` only set parameters, call it, and show
results. Importing ``msrl`` is cheap: heavy libraries (torch, transformers, trl) are imported by the
sub-modules that need them.

Concept map, paper -> module (layers from low to high; a layer imports only those below it, which
``tests/test_architecture.py`` checks):

==========================================  ================================================
presets for every scale                     ``msrl.presets``
run folders and hand-off files              ``msrl.paths``
sandboxed execution of model code           ``msrl.execution.sandbox``
what a program drew (chart introspection)   ``msrl.execution.introspect``
the benchmark's APIs (matplotlib 3.8 era)   ``msrl.execution.compat``
code extraction and normalization           ``msrl.execution.codeblock``, ``.normalize``
the text a chart shows (Tesseract OCR)      ``msrl.execution.ocr``
real and synthetic tables, LaTeX tables     ``msrl.data.tables``, ``msrl.data.latex``
chart specs and code emitters               ``msrl.data.specs``, ``msrl.data.emit``
the chart-code corpus and its tokenizer     ``msrl.data.corpus``, ``msrl.data.tokenizer``
ChartMimic low-level metrics                ``msrl.scoring.metrics``
ChartMimic evaluation (CLI, self-check)     ``msrl.scoring.chartmimic``
textual, execution and visual rewards       ``msrl.scoring.rewards``
the visual evaluator (MLLM judge)           ``msrl.scoring.judges``
the VLM (tiny Qwen2.5-VL or 7B)             ``msrl.training.model``
vision warm-up (ours, not the paper's)      ``msrl.training.vision_warmup``
the policy's prompt (+ OCR text: ours)      ``msrl.training.prompts``
SFT                                         ``msrl.training.sft``
GRPO and the two-stage curriculum           ``msrl.training.grpo``, ``msrl.training.curriculum``
generation, training precision              ``msrl.training.generate``, ``.precision``
several processes; serving a checkpoint     ``msrl.training.distributed``, ``.serve``
evaluating models (+ image control)         ``msrl.evaluation.checkpoints``
seed tables, paired differences             ``msrl.evaluation.statistics``
SFT plateau, ablations, final table, report ``msrl.studies.plateau``, ``.ablations``, ``.final``, ``.report``
figures and widgets                         ``msrl.viz.plots``, ``msrl.viz.widgets``
notebook glue, papermill runner             ``msrl.stage``, ``msrl.run``
==========================================  ================================================
"""

__version__ = "0.1.0"
