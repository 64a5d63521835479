"""The preset networks of the field guide as ``model=`` values: ``bow``, ``cnn``, ``bilstm``.

They share everything else with the tiny BERT: the WordPiece vocabulary built from the
training data (CJK: characters), the data pipeline, tricks, checkpoints (Hugging Face folders:
``save_pretrained`` / ``AutoModelFor...from_pretrained`` once :func:`register` ran) and metrics.

- ``bow``: an embedding bag (the mean of the token embeddings, padding excluded) -> dropout ->
  linear. The fastest baseline; word order is ignored.
- ``cnn``: TextCNN (Kim 2014): convolutions of several widths (``net.kernel_sizes``, each
  ``net.num_filters`` filters, ReLU) over the embeddings, max-pooled over time, concatenated.
- ``bilstm``: a bidirectional LSTM (``net.hidden_size`` per direction, ``net.num_layers``)
  over the embeddings, packed by length; max-pooled for classification, per token for ner.

Pairs (task=pair): each text is pooled on its own (``token_type_ids`` tell them apart) and the
head sees ``[u, v, |u - v|, u * v]`` (the matching features of InferSent). ``crf=true`` puts a
:class:`trainers.crf.LinearChainCRF` on a token model (bilstm here; the tiny BERT and HF
folders through :func:`trainers.modeling.attach_crf`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput, TokenClassifierOutput

from trainers.settings import Settings


class NetConfig(PretrainedConfig):
    model_type = "expctl-net"

    def __init__(
        self,
        arch: str = "bow",
        vocab_size: int = 1000,
        embedding_dim: int = 128,
        hidden_size: int = 128,
        num_layers: int = 1,
        kernel_sizes=(2, 3, 4),
        num_filters: int = 128,
        dropout: float = 0.1,
        pair: bool = False,
        crf: bool = False,
        max_position_embeddings: int = 100000,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.arch, self.vocab_size, self.embedding_dim = arch, vocab_size, embedding_dim
        self.hidden_size, self.num_layers, self.num_filters = hidden_size, num_layers, num_filters
        self.kernel_sizes = [int(k) for k in kernel_sizes]
        self.dropout, self.pair, self.crf = dropout, pair, crf
        self.max_position_embeddings = max_position_embeddings

    def describe(self) -> str:
        if self.arch == "cnn":
            return f"TextCNN widths {','.join(map(str, self.kernel_sizes))} x {self.num_filters} filters"
        if self.arch == "bilstm":
            return f"BiLSTM {self.num_layers} layer(s) x {self.hidden_size} per direction{' + CRF' if self.crf else ''}"
        return f"embedding bag {self.embedding_dim}"


class Encoder(nn.Module):
    """Token features (B x L x D) and their pooling (mean for bow, max for cnn / bilstm)."""

    def __init__(self, c: NetConfig):
        super().__init__()
        self.arch = c.arch
        self.embed = nn.Embedding(c.vocab_size, c.embedding_dim, padding_idx=c.pad_token_id)
        if c.arch == "cnn":
            self.convs = nn.ModuleList(nn.Conv1d(c.embedding_dim, c.num_filters, k) for k in c.kernel_sizes)
            self.width = c.num_filters * len(c.kernel_sizes)
        elif c.arch == "bilstm":
            self.lstm = nn.LSTM(
                c.embedding_dim, c.hidden_size, num_layers=c.num_layers, batch_first=True, bidirectional=True
            )
            self.width = 2 * c.hidden_size
        else:
            self.width = c.embedding_dim

    def get_input_embeddings(self):
        return self.embed

    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None) -> torch.Tensor:
        x = self.embed(input_ids) if inputs_embeds is None else inputs_embeds
        if self.arch == "cnn":
            # "same" padding (left (k-1)//2, right k//2): one feature per token, any width
            h = x.transpose(1, 2)
            return torch.cat(
                [
                    F.relu(conv(F.pad(h, ((k - 1) // 2, k // 2))))
                    for conv, k in zip(self.convs, (c.kernel_size[0] for c in self.convs))
                ],
                dim=1,
            ).transpose(1, 2)
        if self.arch == "bilstm":
            lengths = attention_mask.sum(1).clamp(min=1).cpu()
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            out, _ = self.lstm(packed)
            return nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.size(1))[0]
        return x

    def pool(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask[..., None].to(h.dtype)
        if self.arch == "bow":
            return (h * m).sum(1) / m.sum(1).clamp(min=1)
        return h.masked_fill(m == 0, -1e4).max(1).values


class NetPreTrainedModel(PreTrainedModel):
    config_class = NetConfig
    base_model_prefix = "encoder"

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=0.1)
            if module.padding_idx is not None:
                module.weight.data[module.padding_idx].zero_()

    def get_input_embeddings(self):
        return self.encoder.embed

    def set_input_embeddings(self, value):
        self.encoder.embed = value


class NetForSequenceClassification(NetPreTrainedModel):
    def __init__(self, config: NetConfig):
        super().__init__(config)
        self.encoder = Encoder(config)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(self.encoder.width * (4 if config.pair else 1), config.num_labels)
        self.post_init()

    def forward(
        self, input_ids=None, attention_mask=None, token_type_ids=None, inputs_embeds=None, labels=None, **kwargs
    ):
        if attention_mask is None:
            attention_mask = (input_ids != self.config.pad_token_id).long()
        h = self.encoder(input_ids, attention_mask, inputs_embeds)
        if self.config.pair and token_type_ids is not None:
            u = self.encoder.pool(h, attention_mask * (token_type_ids == 0))
            v = self.encoder.pool(h, attention_mask * (token_type_ids == 1))
            pooled = torch.cat([u, v, (u - v).abs(), u * v], dim=-1)
        else:
            pooled = self.encoder.pool(h, attention_mask)
            if self.config.pair:
                pooled = torch.cat([pooled, pooled, torch.zeros_like(pooled), pooled * pooled], dim=-1)
        logits = self.classifier(self.dropout(pooled))
        loss = F.cross_entropy(logits, labels) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)


class NetForTokenClassification(NetPreTrainedModel):
    def __init__(self, config: NetConfig):
        super().__init__(config)
        self.encoder = Encoder(config)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(self.encoder.width, config.num_labels)
        self.crf = None
        if config.crf:
            from trainers.crf import LinearChainCRF

            self.crf = LinearChainCRF([config.id2label[i] for i in range(config.num_labels)])
        self.post_init()

    def forward(
        self, input_ids=None, attention_mask=None, token_type_ids=None, inputs_embeds=None, labels=None, **kwargs
    ):
        if attention_mask is None:
            attention_mask = (input_ids != self.config.pad_token_id).long()
        logits = self.classifier(self.dropout(self.encoder(input_ids, attention_mask, inputs_embeds)))
        loss = None
        if labels is not None:
            loss = (
                self.crf.nll(logits, labels)
                if self.crf is not None
                else F.cross_entropy(logits.transpose(1, 2), labels, ignore_index=-100)
            )
        return TokenClassifierOutput(loss=loss, logits=logits)


def register() -> None:
    """Make ``AutoConfig`` / ``AutoModelFor{Sequence,Token}Classification`` load these folders."""
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoModelForTokenClassification

    try:
        AutoConfig.register(NetConfig.model_type, NetConfig)
        AutoModelForSequenceClassification.register(NetConfig, NetForSequenceClassification)
        AutoModelForTokenClassification.register(NetConfig, NetForTokenClassification)
    except ValueError:  # already registered
        pass


def build_net(settings: Settings, task: str, labels, tokenizer):
    """The ``model`` preset (bow, cnn, bilstm) for ``task`` over ``tokenizer``'s vocabulary."""
    from trainers.modeling import label_kwargs

    net = settings.net
    dropout = net.dropout if settings.dropout is None else settings.dropout
    config = NetConfig(
        arch=settings.model,
        vocab_size=len(tokenizer),
        embedding_dim=net.embedding_dim,
        hidden_size=net.hidden_size,
        num_layers=net.num_layers,
        kernel_sizes=list(net.kernel_sizes),
        num_filters=net.num_filters,
        dropout=dropout,
        pair=task == "pair",
        crf=settings.crf and task == "ner",
        pad_token_id=tokenizer.pad_token_id,
        **label_kwargs(task, labels),
    )
    cls = NetForTokenClassification if task == "ner" else NetForSequenceClassification
    return cls(config)
