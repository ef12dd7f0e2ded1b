"""The fast decoding path of SAM and SAM 2.1 gives the masks of the packages' own predictors.

Both ``sam`` and ``sam2`` decode with the shared speed-ups of
:mod:`seglib.deep.sam.model` (channels-last decoder, remembered image
projections, map-by-map upscaling, the positional encoding computed once).
Here small random-weight networks built from the packages' own modules are
run both ways: through ``seglib`` and through ``segment_anything.SamPredictor``
/ ``sam2.SAM2ImagePredictor`` on an unmodified copy of the same network.
"""

import numpy as np
import pytest
import torch
from sam2.sam2_image_predictor import SAM2ImagePredictor
from sam2.utils.amg import calculate_stability_score
from segment_anything import SamPredictor

import seglib
from seglib.datasets.shapes import make_scene
from seglib.deep import sam as S
from seglib.deep.sam import sam2_model as M


@pytest.fixture(scope="module", params=["sam", "sam2"])
def network(request, tmp_path_factory):
    """(slug, the network, its weights file, the package's predictor on it, image tokens, loader)."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp(request.param)
    if request.param == "sam":
        model = S.build_sam(S.TINY_CONFIG)
        weights = S.save_sam_weights(model, S.TINY_CONFIG, folder / "tiny.safetensors")
        grid = S.TINY_CONFIG.image_size // S.TINY_CONFIG.patch_size
        return "sam", SamPredictor(model), str(weights), grid * grid, lambda: S.load_sam(weights=str(weights))
    model = M.build_sam2_network(M.TEST_CONFIG)
    weights = M.save_sam2_weights(model, M.TEST_CONFIG, folder / "small.safetensors")
    predictor = SAM2ImagePredictor(model)
    side = M.TEST_CONFIG.image_size
    predictor._bb_feat_sizes = [(side // 4, side // 4), (side // 8, side // 8), (side // 16, side // 16)]
    return "sam2", predictor, str(weights), (side // 16) ** 2, lambda: M.load_sam2(weights=str(weights))


@pytest.fixture(autouse=True)
def fresh_caches():
    S.clear_caches()
    yield
    S.clear_caches()


def image_linears(monkeypatch, tokens: int) -> list:
    """Record every linear layer computed on image tokens (``tokens`` rows), wherever it is called from."""
    calls, linear = [], torch.nn.functional.linear

    def counted(x, *args, **kwargs):
        if x.ndim == 3 and x.shape[1] == tokens:
            calls.append(x.shape)
        return linear(x, *args, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "linear", counted)
    return calls


PROMPTS = [dict(points=[(120, 60, 1), (10, 140, 0)]), dict(box=(30, 20, 170, 120)),
           dict(points=[(60, 100, 1)], multimask=False), dict(points=[(120, 60, 1)], refine=True),
           dict(points=[(150, 30, 1)]), dict(points=[(40, 110, 1)])]


def test_the_fast_decoder_gives_the_packages_masks(network, monkeypatch):
    """Every candidate equals the package's on a picture that is not square and larger than the logits
    (they are upscaled), through prompts that reuse the remembered image projections and a refinement
    that must not; the decoder's image-sized work is channels-last. Float rounding may differ (as it does
    between thread counts), so pixels whose logit is within 1e-4 of the threshold are not compared."""
    slug, reference, weights, tokens, load = network
    image = np.ascontiguousarray(make_scene(3, size=200, difficulty="easy").image[:150])
    with torch.inference_mode():
        reference.set_image(image)
    seglib.segment(image, slug, weights=weights, points=[(20, 20, 1)])  # embeds the picture
    decoder = load().model.mask_decoder if slug == "sam" else load().model.sam_mask_decoder
    layouts = []
    decoder.transformer.register_forward_pre_hook(lambda module, args: layouts.append(
        [a.is_contiguous(memory_format=torch.channels_last) for a in args[:2]]))
    decoder.output_upscaling[0].register_forward_pre_hook(lambda module, args: layouts.append(
        [args[0].stride()[0] == args[0][0].numel(), args[0].is_contiguous(memory_format=torch.channels_last)]))
    linears = image_linears(monkeypatch, tokens)
    counts, previous = [], None
    for prompt in PROMPTS:
        prompt = dict(prompt)
        mask_input = previous.low_res_logits if prompt.pop("refine", False) else None
        points, box = prompt.get("points"), prompt.get("box")
        with torch.inference_mode():
            expected, iou, _ = reference.predict(
                point_coords=None if points is None else np.array([p[:2] for p in points], float),
                point_labels=None if points is None else np.array([p[2] for p in points]),
                box=None if box is None else np.array(box, float),
                mask_input=None if mask_input is None else mask_input[None],
                multimask_output=prompt.get("multimask", True), return_logits=True)
        before = len(linears)
        result = seglib.segment(image, slug, weights=weights, mask_input=mask_input, **prompt)
        counts.append(len(linears) - before)
        stages = [result.stages[name] for name in result.stages if name.startswith("candidate")]
        assert len(stages) == len(expected) == len(result.candidates)
        for stage, logits, info, predicted in zip(stages, expected, result.candidates, iou):
            decided = np.abs(logits) > 1e-4
            assert decided.mean() > 0.9  # the comparison is not vacuous
            np.testing.assert_array_equal(stage[decided], logits[decided] > 0)
            assert info["area"] == pytest.approx(int((logits > 0).sum()), abs=(~decided).sum())
            assert info["predicted_iou"] == pytest.approx(float(predicted), abs=1e-5)
            stability = float(calculate_stability_score(torch.from_numpy(logits), 0.0, 1.0))
            assert info["stability"] == pytest.approx(stability, abs=1e-3)
        best = int(np.argmax(iou))
        np.testing.assert_allclose(result.scores, 1 / (1 + np.exp(-expected[best].astype(np.float64))), atol=1e-5)
        previous = result
    # The first block's three projections of the picture come from memory while its image side is unchanged;
    # a mask fed back changes that side, so they are computed (and remembered in turn, until the next change).
    hit = counts[0]
    assert hit > 0 and counts == [hit, hit, hit, hit + 3, hit + 3, hit]
    assert layouts and all(layout == [True, True] for layout in layouts)


@pytest.mark.parametrize("input_size, original_size",
                         [((48, 64), (48, 64)), ((48, 64), (96, 128)), ((64, 40), (80, 50)), ((64, 64), (64, 64)),
                          ((17, 64), (17, 64))])
def test_sam_upscales_only_the_part_of_the_square_it_keeps(input_size, original_size):
    """The crop of the encoder's square that the picture fills, computed alone, has the very same pixels."""
    model = S.build_sam(S.TINY_CONFIG)
    low_res = torch.randn(2, 3, 16, 16)
    square = S.model.upscale(low_res, (64, 64))[..., :input_size[0], :input_size[1]]
    if input_size != original_size:
        square = S.model.upscale(square, original_size)
    ours = S.upscale_masks(model, low_res, S.Embedding(None, input_size, original_size, 0.0))
    assert torch.equal(ours, square)
    torch.testing.assert_close(ours[:1], model.postprocess_masks(low_res[:1], input_size, original_size))
